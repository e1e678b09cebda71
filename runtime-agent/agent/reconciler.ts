// The level-triggered reconcile loop: converges the backend to the last desired state, probes health, restarts
// crashed instances with backoff, and reports every transition. It owns the local state file. The per-record rules
// (new record, restart decision, event shape) are in instance-records.ts, liveness bookkeeping in liveness.ts.
import type { Logger } from "pino";
import type { DesiredState, InstanceSpec } from "../protocol/desired-state.ts";
import type { ObservedInstance } from "../protocol/methods.ts";
import type { InstanceEvent, InstanceState } from "../protocol/notifications.ts";
import type { ContainerInfo, RuntimeBackend } from "../runtime/backend.ts";
import { nextRestartStep } from "./backoff.ts";
import { diffInstances, stableJson } from "./diff.ts";
import type { Prober } from "./health.ts";
import { allocateHostPort, type HostPortsInUse } from "./host-ports.ts";
import { instanceEvent, newRecord, observedInstances, type Owner, planRestart } from "./instance-records.ts";
import { DEFAULT_LIVENESS, LivenessTracker } from "./liveness.ts";
import { type AgentState, type InstanceRecord, saveState } from "./state-file.ts";

export { DEFAULT_LIVENESS } from "./liveness.ts";

/** Dependencies and knobs of the reconciler. */
export interface ReconcilerOptions {
  backend: RuntimeBackend;
  probe: Prober;
  log: Logger;
  /** Where the state is persisted (undefined: memory only, for tests). */
  stateFile?: string;
  initial: AgentState;
  hostPorts: { min: number; max: number };
  /** Called with every transition. */
  onEvent: (event: InstanceEvent) => void;
  now?: () => number;
  /** Ports the host already uses (listeners, NAT mappings of others): never picked. Default: none. */
  hostPortsInUse?: HostPortsInUse;
  /**
   * The address the router reaches this node's published ports at. Known: a web instance is probed at that
   * address:hostPort, the router's own path, so a broken port mapping shows as unhealthy; unknown: at its own IP.
   */
  probeHost?: () => string | undefined;
  /** Probes of running instances: every `everyMs`, replaced after `failures` failed probes in a row. */
  liveness?: { everyMs: number; failures: number };
}

/** How long a stopped container without a known exit status is kept before it is handled as exited anyway. */
const EXIT_STATUS_WAIT_MS = 5_000;

/** Converges a RuntimeBackend to a DesiredState; call `tick()` periodically and `apply()` on each desired state. */
export class Reconciler {
  private desired: DesiredState;
  private readonly records = new Map<string, InstanceRecord>();
  /** When each stopped container was first seen without its exit status (see handleExit). */
  private readonly exitSeenAt = new Map<string, number>();
  /** Liveness of running instances (memory only: a restarted agent starts counting afresh). */
  private readonly liveness: LivenessTracker;
  private readonly now: () => number;
  private running: Promise<void> | undefined;
  private again = false;
  private dirty = false;
  private nodeId: string | undefined;
  private saving: Promise<void> = Promise.resolve();
  /** The state file's desired state was of an older protocol: stop nothing until the control plane sends one. */
  private holdUndesired: boolean;

  constructor(private readonly opts: ReconcilerOptions) {
    this.desired = opts.initial.desired;
    this.holdUndesired = opts.initial.legacyDesired === true;
    this.nodeId = opts.initial.nodeId;
    for (const r of opts.initial.instances) this.records.set(r.id, r);
    this.now = opts.now ?? Date.now;
    this.liveness = new LivenessTracker(opts.liveness ?? DEFAULT_LIVENESS);
  }

  /** The generation the agent converges to. */
  get generation(): number {
    return this.desired.generation;
  }

  /** Remembers the node id the control plane assigned (persisted with the state). */
  setNodeId(nodeId: string): void {
    if (nodeId !== this.nodeId) {
      this.nodeId = nodeId;
      this.dirty = true;
    }
  }

  /**
   * Takes a new desired state; a stale generation or an identical set changes nothing. The state is persisted before
   * the answer; converging happens in the background (image pulls can take minutes) and is reported through events.
   */
  async apply(next: DesiredState): Promise<{ generation: number; changed: boolean }> {
    if (next.generation < this.desired.generation) return { generation: this.desired.generation, changed: false };
    this.holdUndesired = false;
    const changed = stableJson(next.instances) !== stableJson(this.desired.instances);
    if (changed || next.generation !== this.desired.generation) {
      this.desired = next;
      this.dirty = true;
    }
    await this.persist();
    // Ingress rules first: a new add-on instance launched by the pass below is restricted from its first packet.
    await this.applyIngress();
    if (changed) this.tick().catch((err: unknown) => this.opts.log.error({ err }, "reconcile pass failed"));
    return { generation: this.desired.generation, changed };
  }

  /** What the node runs now, per instance. */
  observed(): ObservedInstance[] {
    return observedInstances(this.records.values(), this.desired.generation);
  }

  /** One reconcile pass; concurrent calls coalesce into at most one more pass. */
  tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = undefined;
      }
      await this.persist();
    })();
    return this.running;
  }

  // Writes are serialised: two overlapping saves would race on the temp file and could land out of order.
  private persist(): Promise<void> {
    const write = async () => {
      // While holding an older protocol's state, its file stays as it is, so a restart holds again.
      if (!this.dirty || !this.opts.stateFile || this.holdUndesired) return;
      this.dirty = false;
      await saveState(this.opts.stateFile, {
        version: 1,
        ...(this.nodeId !== undefined ? { nodeId: this.nodeId } : {}),
        desired: this.desired,
        instances: [...this.records.values()],
      });
    };
    this.saving = this.saving.then(write, write);
    return this.saving;
  }

  /** Hands the desired state's per-app ingress rules to the backend (a no-op when they did not change). */
  private async applyIngress(): Promise<void> {
    try {
      await this.opts.backend.setIngress?.(this.desired.ingress ?? []);
    } catch (err) {
      this.opts.log.error({ err }, "applying the ingress rules of the network policy failed; retried next pass");
    }
  }

  private async pass(): Promise<void> {
    await this.applyIngress();
    const containers = new Map((await this.opts.backend.list()).map((c) => [c.id, c]));
    const actual = [...new Set([...containers.keys(), ...this.records.keys()])].map((id) => {
      const hash = this.records.get(id)?.specHash;
      return hash === undefined ? { id } : { id, specHash: hash };
    });
    const diff = diffInstances(this.desired.instances, actual);
    if (!this.holdUndesired) await Promise.all(diff.stop.map((id) => this.remove(id, containers.get(id), true)));
    await Promise.all(diff.replace.map((spec) => this.remove(spec.id, containers.get(spec.id), false)));
    for (const spec of diff.replace) containers.delete(spec.id);
    await Promise.all(this.desired.instances.map((spec) => this.converge(spec, containers.get(spec.id))));
  }

  private async converge(spec: InstanceSpec, container: ContainerInfo | undefined): Promise<void> {
    const rec = this.records.get(spec.id) ?? this.newRecord(spec, container);
    try {
      if (!container) {
        if (rec.terminal) return;
        if (rec.nextRestartAt !== undefined && this.now() < rec.nextRestartAt) return;
        await this.launch(spec, rec);
      } else if (container.status === "created") {
        await this.opts.backend.start(spec.id);
        rec.startedAt = this.now();
        this.dirty = true;
      } else if (container.status === "running") {
        await this.watchRunning(spec, rec, container);
      } else {
        await this.handleExit(spec, rec, container);
      }
    } catch (err) {
      this.opts.log.warn({ err, instance: spec.id }, "reconcile step failed");
      await this.opts.backend.delete(spec.id).catch((e: unknown) => this.opts.log.error({ err: e }, "delete failed"));
      this.scheduleRestart(spec, rec, undefined, "start-failed", err instanceof Error ? err.message : String(err));
    }
  }

  private newRecord(spec: InstanceSpec, container: ContainerInfo | undefined): InstanceRecord {
    const rec = newRecord(spec, container, this.now());
    this.records.set(spec.id, rec);
    this.dirty = true;
    return rec;
  }

  private async launch(spec: InstanceSpec, rec: InstanceRecord): Promise<void> {
    if (spec.port !== undefined && rec.hostPort === undefined) {
      const used = (await this.opts.hostPortsInUse?.()) ?? new Set<number>();
      // Synchronous from here to the assignment: concurrent launches of one pass see each other's ports.
      for (const r of this.records.values()) if (r.hostPort !== undefined) used.add(r.hostPort);
      rec.hostPort = allocateHostPort(used, this.opts.hostPorts.min, this.opts.hostPorts.max);
    }
    const restarting = rec.nextRestartAt !== undefined;
    delete rec.nextRestartAt;
    delete rec.exitCode;
    delete rec.healthySince;
    // No reason on a restart's start: the last exit's reason (oom-killed, exited, ...) stays what `berth ps` shows.
    if (restarting) this.opts.log.info({ instance: spec.id, restarts: rec.restarts }, "restarting a crashed instance");
    this.transition(spec, rec, "starting", {});
    await this.opts.backend.create({
      id: spec.id,
      team: spec.team,
      app: spec.app,
      release: spec.release,
      processType: spec.processType,
      image: spec.image,
      ...(spec.command ? { command: spec.command } : {}),
      env: spec.env,
      ...(spec.port !== undefined ? { port: spec.port, hostPort: rec.hostPort } : {}),
      limits: spec.limits,
      ...(spec.volumes ? { volumes: spec.volumes } : {}),
    });
    await this.opts.backend.start(spec.id);
    rec.startedAt = this.now();
    const info = await this.opts.backend.state(spec.id);
    if (info?.pid !== undefined) rec.pid = info.pid;
    this.dirty = true;
    if (info) await this.watchRunning(spec, rec, info);
  }

  private async watchRunning(spec: InstanceSpec, rec: InstanceRecord, c: ContainerInfo): Promise<void> {
    if (c.status !== "running") return;
    if (c.pid !== undefined && rec.pid !== c.pid) {
      rec.pid = c.pid;
      this.dirty = true;
    }
    const now = this.now();
    if (rec.state === "running") {
      if (rec.healthySince !== undefined && rec.backoffStep > 0) {
        const step = nextRestartStep(rec.backoffStep, now - rec.healthySince);
        if (step !== rec.backoffStep) {
          rec.backoffStep = step;
          this.dirty = true;
        }
      }
      await this.checkLiveness(spec, rec, c);
      return;
    }
    if (rec.state !== "starting") this.transition(spec, rec, "starting", { reason: "adopted" });
    const healthy = await this.probeInstance(spec, rec, c);
    if (healthy) {
      rec.healthySince = this.now();
      this.transition(spec, rec, "running", {});
      return;
    }
    const limit = spec.healthCheck.type === "none" ? Infinity : spec.healthCheck.startTimeoutMs;
    if (now - (rec.startedAt ?? now) > limit) {
      await this.opts.backend.stop(spec.id, spec.stopGraceMs);
      await this.opts.backend.delete(spec.id);
      delete rec.hostPort; // as in checkLiveness: the port may be what is broken
      this.scheduleRestart(spec, rec, undefined, "health-check-failed", "not healthy within the start timeout");
    }
  }

  /** Probes through the router's path when possible (see `probeHost`); an instance without a check is healthy. */
  private probeInstance(spec: InstanceSpec, rec: InstanceRecord, c: ContainerInfo): Promise<boolean> {
    if (spec.port === undefined || spec.healthCheck.type === "none") return Promise.resolve(true);
    const host = rec.hostPort !== undefined ? this.opts.probeHost?.() : undefined;
    const target =
      host !== undefined && rec.hostPort !== undefined
        ? { host, port: rec.hostPort }
        : { host: c.ip ?? "127.0.0.1", port: spec.port };
    return this.opts.probe(target, spec.healthCheck);
  }

  /**
   * A running instance stays probed: when it stops answering where the router reaches it (a hung process, or a port
   * mapping broken or shadowed by a stale rule) it is replaced, on a fresh host port, instead of staying "running".
   */
  private async checkLiveness(spec: InstanceSpec, rec: InstanceRecord, c: ContainerInfo): Promise<void> {
    if (spec.port === undefined || spec.healthCheck.type === "none") return;
    if (!this.liveness.due(spec.id, this.now())) return;
    const failures = this.liveness.record(spec.id, await this.probeInstance(spec, rec, c));
    if (failures === 0) return;
    const where = rec.hostPort !== undefined ? `host port ${rec.hostPort}` : `port ${spec.port}`;
    this.opts.log.warn({ instance: spec.id, hostPort: rec.hostPort }, "running instance failed its health checks");
    await this.opts.backend.stop(spec.id, spec.stopGraceMs);
    await this.opts.backend.delete(spec.id);
    // Its port may be what is broken: the next start picks one the host does not use.
    delete rec.hostPort;
    this.scheduleRestart(spec, rec, undefined, "health-check-failed", `not healthy at ${where} for ${failures} checks`);
  }

  private async handleExit(spec: InstanceSpec, rec: InstanceRecord, c: ContainerInfo): Promise<void> {
    // runc can report the container stopped before conmon has written its exit status (seen on a loaded machine);
    // deleting it then loses the code (`berth run` would answer 0 for `exit 7`). Wait a few ticks for it.
    if (c.exitCode === undefined && !c.oomKilled) {
      const first = this.exitSeenAt.get(spec.id) ?? this.now();
      this.exitSeenAt.set(spec.id, first);
      if (this.now() - first < EXIT_STATUS_WAIT_MS) return;
    }
    this.exitSeenAt.delete(spec.id);
    const reason = c.oomKilled ? "oom-killed" : "exited";
    await this.opts.backend.delete(spec.id);
    this.scheduleRestart(spec, rec, c.exitCode, reason);
  }

  private scheduleRestart(
    spec: InstanceSpec,
    rec: InstanceRecord,
    exitCode: number | undefined,
    reason: string,
    message?: string,
  ): void {
    const { state, extra } = planRestart(spec, rec, this.now(), exitCode, reason, message);
    this.transition(spec, rec, state, extra);
  }

  private async remove(id: string, container: ContainerInfo | undefined, forget: boolean): Promise<void> {
    const rec = this.records.get(id);
    const spec = rec ? this.specFor(id, container) : undefined;
    try {
      if (container) {
        if (spec && rec && container.status !== "stopped") this.transition(spec, rec, "stopping", {});
        if (container.status !== "stopped") await this.opts.backend.stop(id, 10_000);
        await this.opts.backend.delete(id);
      }
      if (spec && rec) this.transition(spec, rec, "stopped", { reason: forget ? "not-desired" : "replaced" });
      this.records.delete(id);
      this.dirty = true;
    } catch (err) {
      this.opts.log.warn({ err, instance: id }, "removing an instance failed; retrying on the next pass");
    }
  }

  private specFor(id: string, c: ContainerInfo | undefined): Owner | undefined {
    const r = this.records.get(id);
    if (r) return { id, app: r.app, release: r.release, processType: r.processType };
    return c ? { id, app: c.app, release: c.release, processType: c.processType } : undefined;
  }

  private transition(
    spec: Owner,
    rec: InstanceRecord,
    state: InstanceState,
    extra: { reason?: string; message?: string },
  ): void {
    rec.state = state;
    if (extra.reason !== undefined) rec.reason = extra.reason;
    this.dirty = true;
    this.opts.onEvent(instanceEvent(spec, rec, state, extra, this.now()));
  }
}
