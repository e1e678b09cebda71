// Sending each node its full desired state (the specs of every instance it should run). Only changed states are
// sent, at most one per node at a time, and a pass never waits for a node's acknowledgement: a slow agent delays
// only itself. Kept between passes: what each node last acknowledged and the spec of every instance sent.
import type { IngressRule, InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";
import { instanceSpec, type SpecLimits, specFingerprint } from "./instance-spec.ts";
import type { InstanceLimits, InstanceRow, SchedulerCore } from "./scheduler-core.ts";
import type { SnapshotApp } from "./snapshot.ts";

export class DesiredStates {
  private readonly lastSent = new Map<string, string>();
  /** Nodes with a desired state sent and not acknowledged yet, and those to send a newer one to after that. */
  private readonly sending = new Set<string>();
  private readonly resend = new Set<string>();
  /** The spec of every instance sent in the last pass, with its fingerprint (see send). */
  private specs = new Map<string, { fp: string; spec: InstanceSpecInput }>();

  constructor(private readonly core: SchedulerCore) {}

  /** Sends every node of `nodeIds` whose desired state changed its new one (in the background). */
  async send(
    nodeIds: string[],
    instances: InstanceRow[],
    apps: (Pick<SnapshotApp, "id" | "name" | "teamId" | "releases"> & Partial<Pick<SnapshotApp, "addonService">>)[],
    limitsOf: (i: InstanceLimits) => SpecLimits,
    now: number,
  ): Promise<void> {
    const { s, agents } = this.core;
    const { drainUntil, oneOffs } = this.core.state;
    try {
      s.registry();
    } catch {
      return; // Without the registry no image can be pulled; nodes keep their last desired state.
    }
    // Lookups by id, built once per pass: with 100 nodes and thousands of instances, scanning every app and release
    // per instance and node dominates a pass.
    const appById = new Map(apps.map((a) => [a.id, a]));
    const liveRelease = new Map<string, { appId: string; release: (typeof apps)[number]["releases"][number] }>();
    for (const a of apps) for (const r of a.releases) liveRelease.set(r.id, { appId: a.id, release: r });
    const missing = instances.filter((i) => !liveRelease.has(i.releaseId));
    const extraReleases = missing.length
      ? await s.db.release.findMany({ where: { id: { in: [...new Set(missing.map((i) => i.releaseId))] } } })
      : [];
    const extraById = new Map(extraReleases.map((r) => [r.id, r]));
    const byNode = new Map<string, typeof instances>();
    for (const i of instances) {
      if (i.nodeId === null) continue;
      const list = byNode.get(i.nodeId);
      if (list) list.push(i);
      else byNode.set(i.nodeId, [i]);
    }
    // A spec is built again only when its fingerprint changed, and a node's state is compared by the fingerprints,
    // not by encoding every spec of every node at every pass.
    const specs = new Map<string, { fp: string; spec: InstanceSpecInput }>();
    for (const nodeId of nodeIds) {
      // A node pulls through the control-plane address it connected to; one that has not registered since this
      // control plane started gets its desired state from the pass its registration triggers.
      const pullHost = agents.pullHost(nodeId);
      if (!pullHost) continue;
      const entries: { fp: string; spec: InstanceSpecInput }[] = [];
      for (const i of byNode.get(nodeId) ?? []) {
        if (i.desired === "stopped" && (drainUntil.get(i.id) ?? 0) <= now) continue;
        const app = appById.get(i.appId);
        const live = liveRelease.get(i.releaseId);
        const release = live && live.appId === i.appId ? live.release : extraById.get(i.releaseId);
        if (!app || !release) continue;
        const oneOff = i.desired === "oneoff" ? oneOffs.get(i.id) : undefined;
        if (i.desired === "oneoff" && !oneOff) continue; // its command was lost with a restart; it is cleaned up
        const l = limitsOf(i);
        const fp = specFingerprint(i, app, release, l, pullHost, oneOff);
        let entry = this.specs.get(i.id);
        if (entry?.fp !== fp) entry = { fp, spec: instanceSpec(i, app, release, l, pullHost, oneOff) };
        specs.set(i.id, entry);
        entries.push(entry);
      }
      const ingress = ingressFor(entries, apps);
      const key = [...entries.map((e) => e.fp).sort(), ...(ingress.length > 0 ? [JSON.stringify(ingress)] : [])].join(
        "\n",
      );
      if (this.lastSent.get(nodeId) === key) continue;
      // Nodes are independent and a pass does not wait for their acknowledgements (an agent busy starting 50
      // instances must not hold up the next pass for everyone). One desired state per node is on its way at a time;
      // the pass after its acknowledgement sends the newest one.
      if (this.sending.has(nodeId)) {
        this.resend.add(nodeId);
        continue;
      }
      this.sending.add(nodeId);
      const desired = entries.map((e) => e.spec).sort((a, b) => a.id.localeCompare(b.id));
      void agents
        .setDesiredState(nodeId, desired, ingress)
        .then(
          () => {
            this.lastSent.set(nodeId, key);
          },
          (err: unknown) => {
            s.log.warn({ err, node: nodeId }, "sending desired state failed; retrying at next pass");
            this.lastSent.delete(nodeId);
          },
        )
        .finally(() => {
          this.sending.delete(nodeId);
          if (this.resend.delete(nodeId)) this.core.kick();
        });
    }
    this.specs = specs;
  }
}

/**
 * The per-app ingress rules of a node: each add-on service app with an instance there accepts connections only from
 * its owning app and the apps it is attached to (same team; the agent's policy keeps other teams out anyway). Sorted,
 * so an unchanged set gives the same key.
 */
export function ingressFor(
  entries: readonly { spec: InstanceSpecInput }[],
  apps: readonly (Pick<SnapshotApp, "name" | "teamId"> & Partial<Pick<SnapshotApp, "addonService">>)[],
): IngressRule[] {
  const here = new Set(entries.map((e) => e.spec.app));
  const rules: IngressRule[] = [];
  for (const a of apps) {
    const addon = a.addonService;
    if (!addon || !here.has(a.name)) continue;
    const from = [...new Set([addon.app.name, ...addon.attachments.map((t) => t.app.name)])].sort();
    rules.push({ team: a.teamId, app: a.name, from });
  }
  return rules.sort((x, y) => x.app.localeCompare(y.app));
}
