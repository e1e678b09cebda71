"use client";
import { useAppName } from "@/components/apps/app-context";
import { DeploySettingsCard } from "@/components/apps/deploy-settings-card";
import { DomainsCard } from "@/components/apps/domains-card";
import { DeleteAppCard } from "@/components/apps/settings/delete-app-card";
import { MaintenanceCard } from "@/components/apps/settings/maintenance-card";
import { TransferCard } from "@/components/apps/settings/transfer-card";
import { Skeleton } from "@/components/ui/skeleton";
import { useApp } from "@/lib/queries";
import { atLeast } from "@/lib/roles";

/** Settings tab: maintenance mode, domains, deploys, transfer, delete. */
export default function AppSettingsPage() {
  const name = useAppName();
  const app = useApp(name);
  if (app.isError) return null;
  if (!app.data) {
    return (
      <div role="status" aria-label="Loading settings" className="space-y-6">
        <Skeleton className="h-28 w-full rounded-lg" />
        <Skeleton className="h-40 w-full rounded-lg" />
        <Skeleton className="h-32 w-full rounded-lg" />
        <Skeleton className="h-40 w-full rounded-lg" />
      </div>
    );
  }
  const canEdit = atLeast(app.data.role, "admin");
  return (
    <div className="space-y-6">
      <MaintenanceCard app={app.data} canEdit={canEdit} />
      <DomainsCard app={app.data.name} canEdit={canEdit} />
      {/* The formation's roles (member and up), not the admin-only settings above. */}
      <DeploySettingsCard app={app.data.name} canEdit={atLeast(app.data.role, "member")} />
      <TransferCard app={app.data} canEdit={canEdit} />
      <DeleteAppCard app={app.data} canEdit={canEdit} />
    </div>
  );
}
