"use client";
import { Fragment, useState } from "react";
import { ChevronRight, Server } from "lucide-react";
import { shortInstanceId } from "@/components/instances/instance-id";
import { InstanceStateBadge } from "@/components/instances/instances-card";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { cn } from "@/lib/cn";
import { fullTime, relativeTime, titleCase } from "@/lib/format";
import { useNode, useNodes } from "@/lib/queries";
import { NodeActions } from "./node-actions";
import type { Node } from "@/lib/types";

const STATE_TONE: Record<string, BadgeTone> = { ready: "green", down: "red", cordoned: "amber", unroutable: "amber" };

function formatMemory(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(mb % 1024 === 0 ? 0 : 1)} GB` : `${mb} MB`;
}

function InstanceCount({ id }: { id: string }) {
  const node = useNode(id);
  if (node.isPending) return <span className="text-zinc-400">…</span>;
  if (node.isError)
    return (
      <span className="text-zinc-400" title="Could not load">
        ?
      </span>
    );
  const running = node.data.instances.filter((i) => i.state === "running").length;
  return (
    <span title={`${running} running of ${node.data.instances.length}`}>
      {node.data.instances.length}
      {running !== node.data.instances.length ? <span className="text-zinc-400"> ({running} running)</span> : null}
    </span>
  );
}

function NodeInstances({ id }: { id: string }) {
  const node = useNode(id);
  if (node.isPending) return <SkeletonRows rows={2} label="Loading instances" />;
  if (node.isError)
    return (
      <ErrorState
        error={node.error}
        title="Could not load this node"
        onRetry={() => void node.refetch()}
        className="py-6"
      />
    );
  const list = node.data.instances;
  if (list.length === 0) return <p className="px-5 py-4 text-sm text-zinc-500">No instances on this node.</p>;
  return (
    <ul aria-label={`Instances on ${node.data.name}`} className="divide-y divide-zinc-100">
      {list.map((i) => (
        <li key={i.id} className="flex flex-wrap items-center gap-x-4 gap-y-1 px-5 py-2.5 text-sm sm:pl-12">
          <span className="font-mono font-medium text-zinc-900">{i.processType}</span>
          <span className="font-mono text-xs text-zinc-500" title={i.id}>
            {shortInstanceId(i.id)}
          </span>
          <InstanceStateBadge state={i.state} />
          {i.hostPort !== null ? <span className="font-mono text-xs text-zinc-500">port {i.hostPort}</span> : null}
          <span className="text-xs text-zinc-500">
            {i.restarts} restart{i.restarts === 1 ? "" : "s"}
          </span>
          {i.exitCode !== null || i.reason ? (
            <span className="truncate text-xs text-zinc-500">
              {i.exitCode !== null ? `exit ${i.exitCode}` : ""}
              {i.exitCode !== null && i.reason ? " · " : ""}
              {i.reason}
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

/**
 * Whether container root is an unprivileged host id on the node ("on"), or real root because the node opted out
 * ("off", for kernels that cannot); unknown until the agent has registered with this control plane.
 */
function UsernsBadge({ on }: { on: boolean | null }) {
  if (on === null) return <span className="text-zinc-400">—</span>;
  return (
    <span title={on ? "Container root maps to an unprivileged host id range" : "Container root is host root here"}>
      <Badge tone={on ? "green" : "amber"}>{on ? "On" : "Off"}</Badge>
    </span>
  );
}

function NodeRow({ n }: { n: Node }) {
  const [open, setOpen] = useState(false);
  // A cordoned node keeps its instances but gets no new ones (the flag may come separately from the state); an
  // unroutable one gets neither instances nor traffic (the reason shows under its address).
  const state = n.state !== "ready" ? n.state : n.unroutable ? "unroutable" : n.cordoned ? "cordoned" : n.state;
  const panel = `node-${n.id}-instances`;
  return (
    <Fragment>
      <TR>
        <TD>
          <button
            type="button"
            aria-expanded={open}
            aria-controls={panel}
            onClick={() => setOpen((o) => !o)}
            className="inline-flex items-center gap-2 rounded-md text-left focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
          >
            <ChevronRight
              aria-hidden
              className={cn("size-4 text-zinc-400 transition-transform", open && "rotate-90")}
            />
            <span className="font-mono font-medium text-zinc-900">{n.name}</span>
            <span className="sr-only">{open ? "(hide instances)" : "(show instances)"}</span>
          </button>
          <span className="mt-0.5 block pl-6 text-xs text-zinc-500">{n.team ? `Team ${n.team}` : "Shared"}</span>
        </TD>
        <TD>
          <Badge tone={STATE_TONE[state] ?? "neutral"} dot>
            {titleCase(state)}
          </Badge>
        </TD>
        <TD className="text-right whitespace-nowrap tabular-nums">
          {n.cpus} CPU{n.cpus === 1 ? "" : "s"}
          <span className="block text-xs text-zinc-500">{formatMemory(n.memoryMb)}</span>
        </TD>
        <TD className="hidden text-right tabular-nums sm:table-cell">
          <InstanceCount id={n.id} />
        </TD>
        <TD className="hidden font-mono text-[13px] md:table-cell">
          {n.address || <span className="text-zinc-400">—</span>}
          {n.unroutable ? (
            <span className="block max-w-56 font-sans text-xs text-amber-700" title={n.unroutable}>
              Not routed: {n.unroutable}
            </span>
          ) : null}
        </TD>
        <TD className="hidden whitespace-nowrap md:table-cell">
          <UsernsBadge on={n.userNamespaces} />
        </TD>
        <TD className="hidden font-mono text-[13px] lg:table-cell">
          {n.version || <span className="text-zinc-400">—</span>}
          {n.kernel ? <span className="block font-sans text-xs text-zinc-500">{n.kernel}</span> : null}
        </TD>
        <TD className="whitespace-nowrap text-zinc-500">
          {n.lastSeenAt ? (
            <time dateTime={n.lastSeenAt} title={fullTime(n.lastSeenAt)}>
              {relativeTime(n.lastSeenAt)}
            </time>
          ) : (
            "Never"
          )}
        </TD>
      </TR>
      <tr id={panel} hidden={!open} className="bg-zinc-50/60">
        <td colSpan={8} className="p-0">
          {open ? (
            <>
              <NodeActions node={n} />
              <NodeInstances id={n.id} />
            </>
          ) : null}
        </td>
      </tr>
    </Fragment>
  );
}

/** The nodes the user may see, with capacity and state; expand a row for its instances. */
export function NodeTable() {
  const nodes = useNodes();
  const list = nodes.data ?? [];
  // Ready means usable: an unroutable node is connected but gets no instances.
  const ready = list.filter((n) => n.state === "ready" && !n.unroutable).length;
  return (
    <Card>
      <CardHeader
        title="Registered nodes"
        description="Hosts running the Berth agent. Expand a node to see the instances it runs."
        actions={
          list.length ? (
            <Badge tone={ready === list.length ? "green" : "amber"}>{`${ready} of ${list.length} ready`}</Badge>
          ) : undefined
        }
      />
      {nodes.isPending ? (
        <SkeletonRows rows={3} label="Loading nodes" />
      ) : nodes.isError ? (
        <ErrorState error={nodes.error} title="Could not load nodes" onRetry={() => void nodes.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon={Server}
          title="No nodes you can see"
          description="Team admins see their team's nodes and the instance admin sees all of them. Add one with a join command below."
        />
      ) : (
        <Table aria-label="Nodes">
          <THead>
            <tr>
              <TH>Node</TH>
              <TH>State</TH>
              <TH className="text-right">Capacity</TH>
              <TH className="hidden text-right sm:table-cell">Instances</TH>
              <TH className="hidden md:table-cell">Address</TH>
              <TH className="hidden md:table-cell">User namespaces</TH>
              <TH className="hidden lg:table-cell">Version</TH>
              <TH>Last seen</TH>
            </tr>
          </THead>
          <TBody>
            {list.map((n) => (
              <NodeRow key={n.id} n={n} />
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  );
}
