"use client";
import { useAppName } from "@/components/apps/app-context";
import { AddonsCard } from "@/components/apps/resources/addons-card";
import { AddonBackupsCard } from "@/components/apps/resources/addon-backups-card";
import { VolumesCard } from "@/components/apps/resources/volumes-card";
import { Skeleton } from "@/components/ui/skeleton";
import { atLeast } from "@/lib/roles";
import { useAddons, useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Resources tab: the app's add-ons (create, destroy, live state), their backups and its volumes (create, destroy). */
export default function ResourcesPage() {
  const name = useAppName();
  const app = useApp(name);
  const addons = useAddons(name);
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  if (!app.data) {
    return (
      <div role="status" aria-label="Loading resources" className="space-y-6">
        <Skeleton className="h-40 w-full rounded-lg" />
        <Skeleton className="h-32 w-full rounded-lg" />
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <AddonsCard app={app.data.name} canEdit={atLeast(app.data.role, "member")} />
      {(addons.data ?? [])
        .filter((a) => a.state === "available")
        .map((a) => (
          <AddonBackupsCard key={a.name} app={app.data.name} addon={a} canEdit={atLeast(app.data.role, "member")} />
        ))}
      <VolumesCard
        app={app.data.name}
        canEdit={atLeast(app.data.role, "admin")}
        processTypes={app.data.formation.map((f) => f.type)}
      />
    </div>
  );
}
