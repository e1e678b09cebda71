"use client";
import { useState, type FormEvent } from "react";
import { Database, Plus } from "lucide-react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardBody, CardFooter, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Select } from "@/components/ui/input";
import { Field } from "@/components/ui/label";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Table, TBody, TD, TH, THead, TR } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { ADDON_KIND_OPTIONS, addonKindLabel } from "@/lib/addon-plans";
import { useAddonInfo, useAddons, useCreateAddon, useDestroyAddon } from "@/lib/queries";
import type { Addon } from "@/lib/types";

const STATE_TONE: Record<string, BadgeTone> = {
  provisioning: "amber",
  available: "green",
  failed: "red",
  deprovisioning: "neutral",
};

/** The create form: kind and plan, with what the plan gives. Mounted only while the dialog is open. */
function CreateAddonForm({ app, onDone }: { app: string; onDone: () => void }) {
  const create = useCreateAddon(app);
  const toast = useToast();
  const [kind, setKind] = useState<string>(ADDON_KIND_OPTIONS[0]?.kind ?? "postgres");
  const [plan, setPlan] = useState("small");
  const option = ADDON_KIND_OPTIONS.find((k) => k.kind === kind);
  const chosen = option?.plans.find((p) => p.name === plan);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { kind, plan },
      {
        onSuccess: (a) => {
          toast({ title: `${a.name} is provisioning: ${a.configVar} is set once it is available` });
          onDone();
        },
      },
    );
  };
  return (
    <form onSubmit={submit} className="space-y-4">
      <Field id="addon-kind" label="Service">
        <Select id="addon-kind" value={kind} onChange={(e) => setKind(e.target.value)} data-autofocus>
          {ADDON_KIND_OPTIONS.map((k) => (
            <option key={k.kind} value={k.kind}>
              {k.label} {k.version}
            </option>
          ))}
        </Select>
      </Field>
      <Field id="addon-plan" label="Plan">
        <Select id="addon-plan" value={plan} onChange={(e) => setPlan(e.target.value)}>
          {option?.plans.map((p) => (
            <option key={p.name} value={p.name}>
              {p.name}
            </option>
          ))}
        </Select>
      </Field>
      {chosen ? (
        <p className="text-sm text-zinc-500">
          {chosen.memoryMb} MiB memory,{" "}
          {chosen.volumeMb >= 1024 ? `${chosen.volumeMb / 1024} GiB` : `${chosen.volumeMb} MiB`} storage, up to{" "}
          {chosen.maxConnections} connections. The app gets{" "}
          <span className="font-mono">{kind === "redis" ? "REDIS_URL" : "DATABASE_URL"}</span> in a new release.
        </p>
      ) : null}
      <FormError error={create.error} />
      <div className="flex justify-end gap-2">
        <Button type="button" variant="secondary" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" loading={create.isPending}>
          Create add-on
        </Button>
      </div>
    </form>
  );
}

const mib = (bytes: number | null) => (bytes === null ? "—" : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

/** Connections and data size, asked from the running service by the control plane (GET .../addons/{addon}). */
function AddonUsage({ app, a }: { app: string; a: Addon }) {
  const info = useAddonInfo(app, a.name, a.state === "available");
  if (a.state !== "available") return <span className="text-zinc-400">—</span>;
  if (info.isPending) return <span className="text-xs text-zinc-400">Loading…</span>;
  if (info.isError) return <span className="text-xs text-red-700">Could not load</span>;
  const d = info.data;
  return (
    <div className="text-[13px]" data-testid={`addon-usage-${a.name}`}>
      <div>
        {d.connections === null ? "—" : d.connections} / {d.maxConnections} connections
      </div>
      <div className="text-xs text-zinc-500">
        {mib(d.dataBytes)} data{a.kind === "redis" ? " in memory" : ""} · {mib(d.usedBytes)} of{" "}
        {d.sizeMb >= 1024 ? `${d.sizeMb / 1024} GiB` : `${d.sizeMb} MiB`} used
      </div>
    </div>
  );
}

function AddonRow({ app, a, canEdit, onDestroy }: { app: string; a: Addon; canEdit: boolean; onDestroy: () => void }) {
  return (
    <TR>
      <TD>
        <div className="font-mono text-[13px] font-medium text-zinc-900">{a.name}</div>
        <div className="text-xs text-zinc-500">{addonKindLabel(a.kind)}</div>
      </TD>
      <TD>{a.plan}</TD>
      <TD className="font-mono text-[13px]">{a.version} (pinned)</TD>
      <TD>
        <Badge tone={STATE_TONE[a.state] ?? "neutral"} dot>
          <span data-testid={`addon-state-${a.name}`}>{a.state}</span>
        </Badge>
        {a.failReason ? <div className="mt-1 max-w-64 text-xs text-red-700">{a.failReason}</div> : null}
      </TD>
      <TD>
        <AddonUsage app={app} a={a} />
      </TD>
      <TD className="font-mono text-[13px]">{a.configVar}</TD>
      <TD className="text-[13px]">
        {a.attachedTo.length > 0 ? a.attachedTo.join(", ") : <span className="text-zinc-400">—</span>}
      </TD>
      {canEdit ? (
        <TD className="text-right">
          <Button
            size="sm"
            variant="danger-outline"
            disabled={a.state === "deprovisioning"}
            onClick={onDestroy}
            aria-label={`Destroy ${a.name}`}
          >
            Destroy
          </Button>
        </TD>
      ) : null}
    </TR>
  );
}

/**
 * Add-ons of the app: what each is, its state (polled while provisioning), the var it sets and where else it is
 * attached; members and above create and destroy them (the server checks the role again).
 */
export function AddonsCard({ app, canEdit }: { app: string; canEdit: boolean }) {
  const addons = useAddons(app);
  const destroy = useDestroyAddon(app);
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [target, setTarget] = useState<Addon | null>(null);

  const createButton = canEdit ? (
    <Button size="sm" onClick={() => setCreating(true)}>
      <Plus aria-hidden className="size-4" />
      Create add-on
    </Button>
  ) : null;

  return (
    <Card>
      <CardHeader
        title="Add-ons"
        description="Managed PostgreSQL and Redis. Each sets a config var on this app with its connection URL."
        actions={createButton}
      />
      {addons.isPending ? (
        <CardBody>
          <SkeletonRows rows={2} label="Loading add-ons" />
        </CardBody>
      ) : addons.isError ? (
        <ErrorState error={addons.error} title="Could not load add-ons" onRetry={() => void addons.refetch()} />
      ) : addons.data.length === 0 ? (
        <EmptyState
          icon={Database}
          title="No add-ons yet"
          description={
            canEdit
              ? "Create a PostgreSQL database or a Redis instance for this app."
              : "This app has no managed services."
          }
        />
      ) : (
        <Table aria-label="Add-ons">
          <THead>
            <tr>
              <TH>Name</TH>
              <TH>Plan</TH>
              <TH>Version</TH>
              <TH>State</TH>
              <TH>Usage</TH>
              <TH>Config var</TH>
              <TH>Attached to</TH>
              {canEdit ? (
                <TH>
                  <span className="sr-only">Actions</span>
                </TH>
              ) : null}
            </tr>
          </THead>
          <TBody>
            {addons.data.map((a) => (
              <AddonRow key={a.name} app={app} a={a} canEdit={canEdit} onDestroy={() => setTarget(a)} />
            ))}
          </TBody>
        </Table>
      )}
      {!canEdit ? <CardFooter>Viewers can see add-ons; members and above create and destroy them.</CardFooter> : null}
      <Dialog open={creating} onClose={() => setCreating(false)} title="Create add-on" size="md">
        <CreateAddonForm app={app} onDone={() => setCreating(false)} />
      </Dialog>
      <ConfirmDialog
        open={target !== null}
        onClose={() => {
          setTarget(null);
          destroy.reset();
        }}
        title={`Destroy ${target?.name ?? ""}?`}
        description={
          target ? `Its service, its data and ${target.configVar} go; the app gets a new release.` : undefined
        }
        warning="All data in this add-on is deleted. This cannot be undone."
        confirmLabel="Destroy add-on"
        typeToConfirm={target?.name}
        pending={destroy.isPending}
        error={destroy.error}
        onConfirm={() => {
          if (!target) return;
          const name = target.name;
          destroy.mutate(name, {
            onSuccess: () => {
              setTarget(null);
              toast({ title: `${name} destroyed` });
            },
          });
        }}
      />
    </Card>
  );
}
