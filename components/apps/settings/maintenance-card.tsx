"use client";
import { Card, CardBody, CardFooter } from "@/components/ui/card";
import { Switch } from "@/components/ui/switch";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { useUpdateApp } from "@/lib/queries";
import type { AppDetail } from "@/lib/types";
import { ADMIN_ONLY } from "./admin-only";

/** Maintenance mode on/off: visitors get the maintenance page while the processes keep running. */
export function MaintenanceCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
  const update = useUpdateApp(app.name);
  const toast = useToast();
  const toggle = (on: boolean) =>
    update.mutate(
      { maintenance: on },
      {
        onSuccess: () => toast({ title: on ? "Maintenance mode on" : "Maintenance mode off" }),
        onError: (err) =>
          toast({ tone: "error", title: "Could not change maintenance mode", description: errorMessage(err) }),
      },
    );
  return (
    <Card>
      <CardBody className="flex items-start justify-between gap-6">
        <div>
          <h2 id="maintenance-title" className="text-[15px] font-semibold text-zinc-900">
            Maintenance mode
          </h2>
          <p id="maintenance-desc" className="mt-1 max-w-xl text-sm text-zinc-500">
            Visitors get a maintenance page (HTTP 503) instead of the app. Processes keep running, so you can migrate
            data or investigate in peace.
          </p>
        </div>
        <Switch
          checked={update.isPending ? Boolean(update.variables.maintenance) : app.maintenance}
          onChange={toggle}
          disabled={!canEdit || update.isPending}
          aria-labelledby="maintenance-title"
          aria-describedby="maintenance-desc"
        />
      </CardBody>
      {!canEdit ? <CardFooter>{ADMIN_ONLY}</CardFooter> : null}
    </Card>
  );
}
