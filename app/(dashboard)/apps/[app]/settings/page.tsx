"use client";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { useAppName } from "@/components/apps/app-context";
import { DeploySettingsCard } from "@/components/apps/deploy-settings-card";
import { DomainsCard } from "@/components/apps/domains-card";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { FormError } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { rememberTeam } from "@/lib/current-team";
import { useApp, useDeleteApp, useTeams, useUpdateApp } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail } from "@/lib/types";

const ADMIN_ONLY = "Only team admins and owners can change this.";

function MaintenanceCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
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

function TransferCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
  const teams = useTeams();
  const update = useUpdateApp(app.name);
  const toast = useToast();
  const targets = (teams.data ?? []).filter((t) => t.name !== app.team && atLeast(t.role, "admin"));
  const [target, setTarget] = useState("");
  const [confirming, setConfirming] = useState(false);
  const chosen = target || targets[0]?.name || "";

  const transfer = () =>
    update.mutate(
      { team: chosen },
      {
        onSuccess: (updated) => {
          setConfirming(false);
          rememberTeam(updated.team);
          toast({ title: `Moved ${app.name} to ${updated.team}` });
        },
      },
    );

  return (
    <Card>
      <CardHeader
        title="Transfer to another team"
        description={`Move ${app.name} with its releases, config and history. You need admin rights in both teams.`}
      />
      <CardBody>
        {teams.isPending ? (
          <Skeleton className="h-9 w-64" />
        ) : targets.length === 0 ? (
          <p className="text-sm text-zinc-500">There is no other team where you are an admin or owner.</p>
        ) : (
          <div className="flex flex-wrap items-end gap-3">
            <Field id="transfer-team" label="New team" className="w-full max-w-xs">
              <Select id="transfer-team" value={chosen} onChange={(e) => setTarget(e.target.value)} disabled={!canEdit}>
                {targets.map((t) => (
                  <option key={t.id} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </Select>
            </Field>
            <Button variant="secondary" onClick={() => setConfirming(true)} disabled={!canEdit || !chosen}>
              Transfer…
            </Button>
          </div>
        )}
      </CardBody>
      {!canEdit ? <CardFooter>{ADMIN_ONLY}</CardFooter> : null}
      <Dialog
        open={confirming}
        onClose={() => setConfirming(false)}
        title={`Transfer ${app.name} to ${chosen}?`}
        description={`Members of ${app.team} lose access unless they are also in ${chosen}.`}
        footer={
          <>
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </Button>
            <Button onClick={transfer} loading={update.isPending} data-autofocus>
              Transfer app
            </Button>
          </>
        }
      >
        <FormError error={update.error} />
      </Dialog>
    </Card>
  );
}

function DeleteForm({ app, onClose }: { app: AppDetail; onClose: () => void }) {
  const del = useDeleteApp(app.name);
  const router = useRouter();
  const toast = useToast();
  const [typed, setTyped] = useState("");
  const matches = typed === app.name;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (!matches) return;
    del.mutate(undefined, {
      onSuccess: () => {
        toast({ title: `Deleted ${app.name}` });
        router.replace("/apps");
      },
    });
  };
  return (
    <form onSubmit={onSubmit} className="space-y-4">
      <div className="rounded-md border border-red-200 bg-red-50 px-3 py-2.5 text-sm text-red-800">
        This stops every process and deletes the app&apos;s releases, config and git repository. It cannot be undone.
      </div>
      <Field
        id="confirm-name"
        label={
          <>
            Type <code className="rounded bg-zinc-100 px-1 font-mono text-[13px]">{app.name}</code> to confirm
          </>
        }
      >
        <Input
          id="confirm-name"
          data-autofocus
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          className="font-mono"
        />
      </Field>
      <FormError error={del.error} />
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button variant="secondary" onClick={onClose}>
          Cancel
        </Button>
        <Button type="submit" variant="danger" disabled={!matches} loading={del.isPending || del.isSuccess}>
          Delete app
        </Button>
      </div>
    </form>
  );
}

function DeleteCard({ app, canEdit }: { app: AppDetail; canEdit: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <Card tone="danger">
      <CardHeader
        title="Delete app"
        description="Permanently remove the app, its processes, releases and repository."
        divider={false}
      />
      <CardFooter tone="danger">
        <span>{canEdit ? "This cannot be undone." : ADMIN_ONLY}</span>
        <Button variant="danger" onClick={() => setOpen(true)} disabled={!canEdit}>
          Delete {app.name}…
        </Button>
      </CardFooter>
      <Dialog open={open} onClose={() => setOpen(false)} title={`Delete ${app.name}?`} size="md">
        <DeleteForm app={app} onClose={() => setOpen(false)} />
      </Dialog>
    </Card>
  );
}

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
      <DeleteCard app={app.data} canEdit={canEdit} />
    </div>
  );
}
