// The scheduler: one reconcile loop that turns releases and formations into instances on nodes. Each pass reads the
// whole picture (nodes, instances, releases, formation), runs the pure rollout plan per app and placement per new
// instance, writes the decisions, sends each changed node its full desired state and refreshes the router.
// Triggered by every change (kick) and by a periodic resync; passes never overlap.
import { EventEmitter } from "node:events";
import type { InstanceEvent, InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { recordAudit } from "../audit/record.ts";
import { inBatches } from "../db/batches.ts";
import { effectiveRequests, type Requests } from "../formation/requests.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import {
  DEFAULT_BANDWIDTH_MBIT,
  DEFAULT_DISK_MB,
  instanceSpec,
  newInstanceId,
  type SpecLimits,
  specFingerprint,
} from "./instance-spec.ts";
import { type NodeCapacity, place } from "./placement.ts";
import { type Desired, type PlanInstance, type PlanOptions, planApp } from "./plan.ts";
import { type AppRoute, type RouteNode, routesFor } from "./routes.ts";
import { setSchedulerKick } from "./kick.ts";
import { lostNodeIds } from "./lost-nodes.ts";
import { pinnedNode, pinnedNodeIssue, volumeMountsJson, volumesByGroup } from "./volume-placement.ts";

export interface SchedulerOptions {
  resyncMs: number;
  /** A node silent for this long is lost: its instances are started elsewhere. */
  nodeLostGraceMs: number;
  /** Stopped web instances keep running this long after leaving the router, so in-flight requests finish. */
  drainMs: number;
  plan: PlanOptions;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  resyncMs: 10_000,
  nodeLostGraceMs: 60_000,
  drainMs: 3_000,
  plan: { startTimeoutMs: 90_000, crashLimit: 2, rolloutTimeoutMs: 300_000 },
};

/** What decides an instance's limits: its stored ones, else its app's formation for its type. */
interface InstanceLimits {
  appId: string;
  processType: string;
  memoryMb: number | null;
  cpu: number | null;
  diskMb: number | null;
  bandwidthMbit: number | null;
}

/** Where routes go (the HAProxy router); optional so API-only control planes can run without one. */
export interface RouteSink {
  apply(routes: AppRoute[]): Promise<void>;
}

/** A release whose status the scheduler changed (`release` event). */
export interface ReleaseOutcome {
  appName: string;
  releaseId: string;
  version: number;
  status: "deploying" | "deployed" | "failed" | "superseded";
  reason?: string | undefined;
}

const FINISHED = new Set(["stopped", "crashed", "failed"]);
const LIVE_RELEASE_STATUSES = ["pending", "deploying", "deployed"];
/** Longest a stopped instance waits for the router to drop it before its drain starts anyway. */
const ROUTE_WAIT_MS = 30_000;
/** A stopped instance the node never confirmed is forgotten after this long. */
const FORGET_AFTER_MS = 5 * 60_000;

/**
 * Events: `release` (ReleaseOutcome), `pass` (after each pass), `instance` (appName, InstanceEvent), `decision`
 * (appName, text: a sentence for the app's log, like "starting 2 web instances of v3 on node-a, node-b"),
 * `rollout-note` (appName, text: how a rollout goes on when the new instances do not fit beside the old ones).
 */
export class Scheduler extends EventEmitter {
  private running = false;
  private again = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private readonly lastSent = new Map<string, string>();
  /** Nodes with a desired state sent and not acknowledged yet, and those to send a newer one to after that. */
  private readonly sending = new Set<string>();
  private readonly resend = new Set<string>();
  /** The spec of every instance sent in the last pass, with its fingerprint (see sendDesiredStates). */
  private specs = new Map<string, { fp: string; spec: InstanceSpecInput }>();
  private readonly drainUntil = new Map<string, number>();
  /** Instances marked stopped whose removal from the router is not confirmed yet. */
  private readonly routing = new Set<string>();
  private readonly placementIssues = new Map<string, string>();
  /**
   * Per app, the process types the last pass could not place every new instance of for want of room, with how many
   * it placed: their rollouts go on in batches that fit (plan.ts).
   */
  private readonly noRoom = new Map<string, Map<string, number>>();
  private router: RouteSink | undefined;
  /** Commands of one-off instances (`berth run`), by instance id; they do not outlive this control plane. */
  readonly oneOffs = new Map<string, { command: string }>();
  private lastRoutes = "";
  /** When start() ran: agents get the lost-node grace period from then on to reconnect (lost-nodes.ts). */
  private startedAt = 0;
  /** Timings; tests may tune them on a running scheduler. */
  readonly opts: SchedulerOptions;

  constructor(
    private readonly s: Services,
    private readonly agents: AgentHub,
    opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS,
  ) {
    super();
    // A copy: tests tune timings of one scheduler without touching the defaults.
    this.opts = { ...opts, plan: { ...opts.plan } };
  }

  /** Starts reacting to node and instance changes, and the periodic resync. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.startedAt = Date.now();
    this.agents.on("registered", this.onRegistered);
    this.agents.on("down", this.onNodeChange);
    this.agents.on("event", this.onInstanceEvent);
    this.timer = setInterval(() => this.kick(), this.opts.resyncMs);
    this.timer.unref();
    setSchedulerKick(this.s, () => this.kick());
    this.kick();
  }

  /** Stops the loop (an ongoing pass finishes). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    setSchedulerKick(this.s, undefined);
    this.agents.off("registered", this.onRegistered);
    this.agents.off("down", this.onNodeChange);
    this.agents.off("event", this.onInstanceEvent);
  }

  /** Sends routes to `sink` from the next pass on. */
  setRouter(sink: RouteSink | undefined): void {
    this.router = sink;
    this.lastRoutes = "";
    this.kick();
  }

  /** Asks for a pass soon; several kicks while a pass runs cause exactly one more. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.loop());
  }

  /** Why the last pass could not place some of an app's instances, or undefined when it placed them all. */
  placementIssue(appId: string): string | undefined {
    return this.placementIssues.get(appId);
  }

  /** True if some node can take new instances now (with `teamId`: one that team's apps may use, its own or shared). */
  async hasReadyNode(teamId?: string): Promise<boolean> {
    const nodes = await this.s.db.node.findMany({
      where: {
        state: "ready",
        cordoned: false,
        unroutable: null,
        ...(teamId ? { OR: [{ teamId: null }, { teamId }] } : {}),
      },
      select: { id: true },
    });
    return nodes.some((n) => this.agents.isConnected(n.id));
  }

  private readonly onNodeChange = () => this.kick();

  /**
   * A node (re)joined: instances we were stopping there that it does not run (it lost them, e.g. a new machine under
   * the same name) will never be reported stopped, so they are forgotten now instead of after FORGET_AFTER_MS.
   */
  private readonly onRegistered = (nodeId: string) => {
    this.kick();
    this.agents
      .observedState(nodeId)
      .then(async (observed) => {
        const running = observed.map((o) => o.id);
        const gone = await this.s.db.instance.deleteMany({
          where: { nodeId, desired: "stopped", id: { notIn: running } },
        });
        if (gone.count > 0) this.kick();
      })
      .catch((err: unknown) => this.s.log.warn({ err, node: nodeId }, "reading a node's observed state failed"));
  };

  private readonly onInstanceEvent = (nodeId: string, e: InstanceEvent) => {
    // Looked up before the pass this kicks can forget the instance.
    this.publishInstanceEvent(nodeId, e).catch((err: unknown) =>
      this.s.log.warn({ err, instance: e.instanceId }, "publishing an instance event failed"),
    );
    this.emit("instance", e.app, e);
    this.kick();
  };

  /**
   * Live `events` subscribers are keyed by app id: the instance's own row says which app it belongs to (the name
   * in the event is the agent's word, and a name can be reused by another team's new app). Only the node the
   * instance is on is published.
   */
  private async publishInstanceEvent(nodeId: string, e: InstanceEvent): Promise<void> {
    const row = await this.s.db.instance.findUnique({
      where: { id: e.instanceId },
      select: { appId: true, nodeId: true },
    });
    if (row && row.nodeId === nodeId) this.s.hub.publish(row.appId, "events", { kind: "instance", ...e });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (err) {
        this.s.log.error({ err }, "scheduler pass failed");
      }
      this.emit("pass");
    } while (this.again && !this.stopped);
    this.running = false;
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    const db = this.s.db;
    const [nodes, apps] = await Promise.all([
      db.node.findMany(),
      db.app.findMany({
        select: {
          id: true,
          name: true,
          teamId: true,
          maintenance: true,
          rolloutBatch: true,
          healthCheckPath: true,
          // Only names whose owner proved control (server/domains): a pending claim is neither routed nor gets a
          // certificate (the router's ask endpoint answers for routed hosts only).
          domains: { where: { verifiedAt: { not: null } }, select: { hostname: true } },
          formation: true,
          releases: { where: { status: { in: LIVE_RELEASE_STATUSES } } },
        },
      }),
    ]);
    let instances = await db.instance.findMany();
    const volumes = volumesByGroup(await db.volume.findMany());
    const connected = new Set(nodes.filter((n) => this.agents.isConnected(n.id)).map((n) => n.id));
    const lostNodes = lostNodeIds(nodes, connected, now, this.opts.nodeLostGraceMs, this.startedAt);
    // Nodes whose instances stay routed: an agent that restarts (or a short blip between it and the control plane)
    // leaves its containers running, so routing follows the instances' last known state until the node is lost.
    const serving = new Set(nodes.filter((n) => !lostNodes.has(n.id)).map((n) => n.id));
    const appById = new Map(apps.map((a) => [a.id, a]));
    const limitsOf = (appId: string, type: string): SpecLimits => {
      const f = appById.get(appId)?.formation.find((x) => x.type === type);
      return {
        memoryMb: f?.memoryMb ?? 512,
        cpu: f?.cpu ?? 1,
        diskMb: f?.diskMb ?? DEFAULT_DISK_MB,
        bandwidthMbit: f?.bandwidthMbit ?? DEFAULT_BANDWIDTH_MBIT,
      };
    };
    // What placement counts for a new instance of a type: the formation's requests (defaults for its limits).
    const requestsOf = (appId: string, type: string): Requests => {
      const f = appById.get(appId)?.formation.find((x) => x.type === type);
      const l = limitsOf(appId, type);
      return effectiveRequests({ ...l, memoryRequestMb: f?.memoryRequestMb, cpuRequest: f?.cpuRequest });
    };
    // What an instance was created with; older rows without stored limits follow the formation.
    const limitsOfInstance = (i: InstanceLimits): SpecLimits => {
      const f = limitsOf(i.appId, i.processType);
      const mine = i.memoryMb !== null && i.cpu !== null ? { memoryMb: i.memoryMb, cpu: i.cpu } : f;
      return {
        memoryMb: mine.memoryMb,
        cpu: mine.cpu,
        diskMb: i.diskMb ?? f.diskMb,
        bandwidthMbit: i.bandwidthMbit ?? f.bandwidthMbit,
      };
    };

    const requestsOfInstance = (i: (typeof instances)[number]): Requests =>
      effectiveRequests({ ...limitsOfInstance(i), memoryRequestMb: i.memoryRequestMb, cpuRequest: i.cpuRequest });
    // Capacity of every node, from the requests of what it already runs (rows from before requests existed count
    // the defaults for their own limits).
    const capacity = new Map<string, NodeCapacity & { teamId: string | null }>();
    for (const n of nodes) {
      capacity.set(n.id, {
        id: n.id,
        teamId: n.teamId,
        // An unroutable node (its address is loopback, the control plane's own, ...) gets nothing: its web instances
        // could never be reached, and it shows in `berth nodes` why.
        schedulable: n.state === "ready" && connected.has(n.id) && !n.cordoned && n.unroutable === null,
        cpus: n.cpus,
        memoryMb: n.memoryMb,
        allocated: { cpu: 0, memoryMb: 0 },
        groupCounts: new Map(),
        images: new Set(),
      });
    }
    const releaseImage = new Map<string, string>();
    for (const a of apps) for (const r of a.releases) releaseImage.set(r.id, `${r.imageRef}@${r.imageDigest}`);
    for (const i of instances) {
      const c = i.nodeId ? capacity.get(i.nodeId) : undefined;
      if (!c || i.desired === "stopped") continue;
      const r = requestsOfInstance(i);
      c.allocated.memoryMb += r.memoryMb;
      c.allocated.cpu += r.cpu;
      const group = `${i.appId}/${i.processType}`;
      c.groupCounts.set(group, (c.groupCounts.get(group) ?? 0) + 1);
      const image = releaseImage.get(i.releaseId);
      if (image) c.images.add(image);
    }

    let changed = await this.placeOneOffs(instances, [...capacity.values()], appById, requestsOf, requestsOfInstance);
    // One-offs are not part of the formation; they live until their command exits.
    const byApp = new Map<string, typeof instances>();
    for (const i of instances) {
      if (i.desired === "oneoff") continue;
      const list = byApp.get(i.appId);
      if (list) list.push(i);
      else byApp.set(i.appId, [i]);
    }
    for (const app of apps) {
      const mine = byApp.get(app.id) ?? [];
      if (app.releases.length === 0 && mine.every((i) => i.desired === "stopped")) continue;
      if (await this.replaceChangedLimits(app, mine, limitsOf)) changed = true;
      const plan = planApp(
        {
          releases: app.releases.map((r) => ({
            id: r.id,
            version: r.version,
            status: r.status,
            processTypes: Object.keys(JSON.parse(r.processTypes) as Record<string, string>),
            createdAt: r.createdAt.getTime(),
          })),
          formation: new Map(app.formation.map((f) => [f.type, f.quantity])),
          instances: mine.map((i): PlanInstance => ({
            id: i.id,
            releaseId: i.releaseId,
            processType: i.processType,
            desired: i.desired as Desired,
            state: i.state,
            restarts: i.restarts,
            exitCode: i.exitCode,
            reason: i.reason,
            createdAt: i.createdAt.getTime(),
            lost: i.nodeId === null || lostNodes.has(i.nodeId),
          })),
          now,
          placementIssue: this.placementIssues.get(app.id),
          rolloutBatch: app.rolloutBatch,
          noRoom: this.noRoom.get(app.id),
          stopFirst: new Set(app.formation.map((f) => f.type).filter((t) => volumes.has(`${app.id}/${t}`))),
        },
        this.opts.plan,
      );
      if (plan.makeRoom?.length) {
        const room = new Set(plan.makeRoom);
        const types = [...new Set(mine.filter((i) => room.has(i.id)).map((i) => i.processType))].sort();
        this.note(
          app.name,
          `no new ${types.join(", ")} instance fits beside the old ones: stopping ${plan.makeRoom.join(", ")} first to make room`,
        );
      }
      for (const note of plan.notes ?? []) this.emit("decision", app.name, note);

      if (plan.stop.length) {
        changed = true;
        await db.instance.updateMany({ where: { id: { in: plan.stop } }, data: { desired: "stopped" } });
        // Held in the desired state until the router no longer sends them requests (drain starts at the end of the
        // pass, see startDrains); a router that keeps failing holds them at most ROUTE_WAIT_MS.
        for (const id of plan.stop) {
          this.drainUntil.set(id, now + ROUTE_WAIT_MS + this.opts.drainMs);
          this.routing.add(id);
        }
        this.s.log.info({ app: app.name, instances: plan.stop }, "stopping instances");
        const stopping = new Set(plan.stop);
        // Their room is free for this pass's placements (the next pass does not count them either): a rollout short
        // of room places a new instance in the pass that stops an old one.
        for (const i of mine) {
          const c = i.nodeId && i.desired !== "stopped" && stopping.has(i.id) ? capacity.get(i.nodeId) : undefined;
          if (!c) continue;
          const r = requestsOfInstance(i);
          c.allocated.memoryMb -= r.memoryMb;
          c.allocated.cpu -= r.cpu;
        }
        const lost = mine.filter((i) => stopping.has(i.id) && i.nodeId !== null && lostNodes.has(i.nodeId));
        const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
        for (const i of lost)
          this.emit(
            "decision",
            app.name,
            `${i.id} lost with node ${nodeNames.get(i.nodeId ?? "") ?? "?"}: rescheduling`,
          );
        const rest = plan.stop.filter((id) => !lost.some((i) => i.id === id));
        if (rest.length) this.emit("decision", app.name, `stopping ${rest.join(", ")}`);
        this.s.hub.publish(app.id, "events", { kind: "instance", stopping: plan.stop });
      }

      for (const st of plan.statuses) {
        changed = true;
        const r = app.releases.find((x) => x.id === st.releaseId);
        await db.release.update({
          where: { id: st.releaseId },
          data: { status: st.status, ...(st.reason ? { failReason: st.reason } : {}) },
        });
        if (!r) continue;
        const outcome: ReleaseOutcome = { appName: app.name, version: r.version, ...st };
        this.s.log.info({ app: app.name, release: `v${r.version}`, status: st.status, reason: st.reason }, "release");
        this.emit("decision", app.name, `v${r.version} ${st.status}${st.reason ? `: ${st.reason}` : ""}`);
        if (st.status === "deployed" || st.status === "failed") {
          await recordAudit(db, null, {
            teamId: app.teamId,
            appName: app.name,
            action: `release.${st.status}`,
            target: `v${r.version}`,
            data: st.reason ? { reason: st.reason } : {},
          });
        }
        this.s.hub.publish(app.id, "events", {
          kind: "release",
          version: r.version,
          status: st.status,
          reason: st.reason,
        });
        this.emit("release", outcome);
      }

      const previousIssue = this.placementIssues.get(app.id);
      this.placementIssues.delete(app.id);
      const previousNoRoom = this.noRoom.get(app.id);
      const noRoom = new Map<string, number>();
      for (const req of plan.start) {
        const release = app.releases.find((r) => r.id === req.releaseId);
        if (!release) continue;
        const l = limitsOf(app.id, req.processType);
        const r = requestsOf(app.id, req.processType);
        let eligible = [...capacity.values()].filter((c) => c.teamId === null || c.teamId === app.teamId);
        const request = {
          group: `${app.id}/${req.processType}`,
          image: `${release.imageRef}@${release.imageDigest}`,
          count: req.count,
          memoryMb: r.memoryMb,
          cpu: r.cpu,
        };
        // A type with volumes runs only on its volumes' node; the first placement chooses (and pins) that node.
        const vols = volumes.get(request.group) ?? [];
        const pin = vols.length ? pinnedNode(vols) : null;
        if (pin !== null) {
          const node = eligible.find((c) => c.id === pin);
          const name = nodes.find((n) => n.id === pin)?.name ?? pin;
          const issue = pinnedNodeIssue(vols, pin, node && { name, schedulable: node.schedulable });
          if (issue) {
            if (previousIssue !== issue) this.emit("decision", app.name, `cannot place ${req.processType}: ${issue}`);
            this.placementIssues.set(app.id, issue);
            continue;
          }
          eligible = eligible.filter((c) => c.id === pin);
        }
        let placed = place(eligible, { ...request, count: vols.length && pin === null ? 1 : request.count });
        const chosen = vols.length && pin === null ? placed.nodes[0] : undefined;
        if (chosen !== undefined) {
          await db.volume.updateMany({
            where: { id: { in: vols.map((v) => v.id) }, nodeId: null },
            data: { nodeId: chosen },
          });
          for (const v of vols) v.nodeId = chosen;
          const rest = place(
            eligible.filter((c) => c.id === chosen),
            { ...request, count: request.count - 1 },
          );
          placed = { ...rest, nodes: [chosen, ...rest.nodes] };
        }
        if (!placed.ok) {
          // Said once per new reason, not at every resync.
          if (previousIssue !== placed.reason) {
            this.emit(
              "decision",
              app.name,
              `cannot place ${req.count - placed.nodes.length} ${req.processType} instance(s): ${placed.reason}`,
            );
          }
          this.placementIssues.set(app.id, placed.reason);
          this.s.log.warn({ app: app.name, type: req.processType, reason: placed.reason }, "cannot place instances");
          if (placed.noRoom) {
            noRoom.set(req.processType, placed.nodes.length);
            const rollingOut = release.status === "pending" || release.status === "deploying";
            if (rollingOut && !previousNoRoom?.has(req.processType)) {
              this.note(
                app.name,
                `room for ${placed.nodes.length} of ${req.count} new ${req.processType} instance(s) beside the old ones: ` +
                  `v${release.version} rolls out in batches that fit (one old instance stops per new healthy one)`,
              );
            }
          }
        }
        if (placed.nodes.length === 0) continue;
        changed = true;
        const rows = placed.nodes.map((nodeId) => ({
          id: newInstanceId(app.name, req.processType),
          appId: app.id,
          releaseId: release.id,
          nodeId,
          processType: req.processType,
          // Fixed for the instance's life: a changed setting applies to instances started from now on.
          healthCheckPath: req.processType === "web" ? app.healthCheckPath : null,
          memoryMb: l.memoryMb,
          cpu: l.cpu,
          diskMb: l.diskMb,
          bandwidthMbit: l.bandwidthMbit,
          memoryRequestMb: r.memoryMb,
          cpuRequest: r.cpu,
          volumes: volumeMountsJson(vols),
        }));
        await db.instance.createMany({ data: rows });
        this.s.log.info(
          { app: app.name, release: `v${release.version}`, type: req.processType, nodes: placed.nodes },
          "placed instances",
        );
        const names = placed.nodes.map((id) => nodes.find((n) => n.id === id)?.name ?? id);
        this.emit(
          "decision",
          app.name,
          `starting ${rows.map((r) => r.id).join(", ")} (v${release.version}) on ${names.join(", ")}`,
        );
        this.s.hub.publish(app.id, "events", { kind: "instance", placed: rows.map((r) => r.id) });
      }
      if (noRoom.size) this.noRoom.set(app.id, noRoom);
      else this.noRoom.delete(app.id);
    }

    if (changed) instances = await db.instance.findMany();
    await this.forgetStopped(instances, lostNodes, connected, now);
    await this.sendDesiredStates(
      nodes.map((n) => n.id),
      instances,
      apps,
      limitsOfInstance,
      now,
    );
    if (await this.applyRoutes(apps, instances, nodes, serving)) this.startDrains();
  }

  /**
   * A rollout decision worth telling the pusher (batches that fit, instances stopped for room): the app's log gets it
   * as a `decision`, and `git push` / rollout watchers as a `rollout-note` (appName, text).
   */
  private note(appName: string, text: string): void {
    this.s.log.info({ app: appName }, text);
    this.emit("decision", appName, text);
    this.emit("rollout-note", appName, text);
  }

  /** Instances stopped since the last router update are out of the routes now: their drain period starts. */
  private startDrains(): void {
    if (this.routing.size === 0) return;
    const until = Date.now() + this.opts.drainMs;
    for (const id of this.routing) this.drainUntil.set(id, Math.min(until, this.drainUntil.get(id) ?? until));
    this.routing.clear();
    setTimeout(() => this.kick(), this.opts.drainMs + 50).unref();
  }

  /** Puts new one-off instances on a node, or fails them when none fits; one-offs whose command is lost stop. */
  private async placeOneOffs<
    I extends {
      id: string;
      appId: string;
      processType: string;
      desired: string;
      nodeId: string | null;
      releaseId: string;
      memoryMb: number | null;
    },
  >(
    instances: I[],
    capacity: (NodeCapacity & { teamId: string | null })[],
    appById: Map<string, { name: string; teamId: string }>,
    requestsOf: (appId: string, type: string) => Requests,
    requestsOfInstance: (i: I) => Requests,
  ): Promise<boolean> {
    let changed = false;
    for (const i of instances.filter((x) => x.desired === "oneoff")) {
      if (!this.oneOffs.has(i.id)) {
        await this.s.db.instance.update({ where: { id: i.id }, data: { desired: "stopped" } });
        changed = true;
        continue;
      }
      if (i.nodeId) continue;
      const app = appById.get(i.appId);
      // `berth run --type T` fixed T's limits and requests on the row; otherwise the web type's requests count.
      const l = i.memoryMb !== null ? requestsOfInstance(i) : requestsOf(i.appId, "web");
      const eligible = capacity.filter((c) => c.teamId === null || c.teamId === app?.teamId);
      const placed = place(eligible, {
        group: `${i.appId}/run`,
        image: i.releaseId,
        count: 1,
        memoryMb: l.memoryMb,
        cpu: l.cpu,
      });
      changed = true;
      if (placed.nodes[0]) {
        await this.s.db.instance.update({ where: { id: i.id }, data: { nodeId: placed.nodes[0] } });
      } else {
        const reason = placed.ok ? "no node" : placed.reason;
        await this.s.db.instance.update({
          where: { id: i.id },
          data: { state: "failed", reason: "no-node", desired: "stopped" },
        });
        this.s.log.warn({ app: app?.name, instance: i.id, reason }, "cannot place a one-off");
      }
    }
    return changed;
  }

  /** Deletes stopped instances the node confirmed (or that can never be confirmed). */
  private async forgetStopped(
    instances: { id: string; desired: string; state: string; nodeId: string | null; updatedAt: Date }[],
    lostNodes: Set<string>,
    connected: Set<string>,
    now: number,
  ): Promise<void> {
    const gone = instances.filter(
      (i) =>
        i.desired === "stopped" &&
        (this.drainUntil.get(i.id) ?? 0) <= now &&
        (i.nodeId === null ||
          lostNodes.has(i.nodeId) ||
          (FINISHED.has(i.state) && connected.has(i.nodeId)) ||
          i.state === "pending" ||
          now - i.updatedAt.getTime() > FORGET_AFTER_MS),
    );
    if (gone.length === 0) return;
    // A node lost or a big scale-down can leave thousands to forget at once.
    for (const batch of inBatches(gone)) {
      await this.s.db.instance.deleteMany({ where: { id: { in: batch.map((i) => i.id) }, desired: "stopped" } });
    }
    for (const i of gone) this.drainUntil.delete(i.id);
  }

  /**
   * `limits:set` changed a type's limits: its running instances of the deployed release are replaced rolling (like
   * `ps:restart`, honouring the rollout batch) rather than recreated in place by their agents all at once. Marks them
   * `replace` in the database and in `mine` (so this pass plans with it); true when it marked any.
   */
  private async replaceChangedLimits(
    app: { id: string; name: string; releases: { id: string; status: string }[] },
    mine: (InstanceLimits & { id: string; releaseId: string; desired: string })[],
    limitsOf: (appId: string, type: string) => SpecLimits,
  ): Promise<boolean> {
    const deployed = app.releases.find((r) => r.status === "deployed")?.id;
    if (!deployed || app.releases.some((r) => r.status === "pending" || r.status === "deploying")) return false;
    const stale = mine.filter((i) => {
      if (i.desired !== "running" || i.releaseId !== deployed || i.memoryMb === null || i.cpu === null) return false;
      const want = limitsOf(app.id, i.processType);
      return (
        want.memoryMb !== i.memoryMb ||
        want.cpu !== i.cpu ||
        (i.diskMb !== null && want.diskMb !== i.diskMb) ||
        (i.bandwidthMbit !== null && want.bandwidthMbit !== i.bandwidthMbit)
      );
    });
    if (stale.length === 0) return false;
    await this.s.db.instance.updateMany({
      where: { id: { in: stale.map((i) => i.id) }, desired: "running" },
      data: { desired: "replace" },
    });
    for (const i of stale) i.desired = "replace";
    const types = [...new Set(stale.map((i) => i.processType))].sort().join(", ");
    this.emit("decision", app.name, `limits of ${types} changed: replacing ${stale.length} instance(s) rolling`);
    return true;
  }

  private async sendDesiredStates(
    nodeIds: string[],
    instances: {
      id: string;
      appId: string;
      releaseId: string;
      processType: string;
      desired: string;
      nodeId: string | null;
      healthCheckPath: string | null;
      memoryMb: number | null;
      cpu: number | null;
      diskMb: number | null;
      bandwidthMbit: number | null;
      volumes: string | null;
    }[],
    apps: {
      id: string;
      name: string;
      teamId: string;
      releases: {
        id: string;
        version: number;
        imageRef: string;
        imageDigest: string;
        config: string;
        processTypes: string;
      }[];
    }[],
    limitsOf: (i: InstanceLimits) => SpecLimits,
    now: number,
  ): Promise<void> {
    try {
      this.s.registry();
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
      ? await this.s.db.release.findMany({ where: { id: { in: [...new Set(missing.map((i) => i.releaseId))] } } })
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
      const pullHost = this.agents.pullHost(nodeId);
      if (!pullHost) continue;
      const entries: { fp: string; spec: InstanceSpecInput }[] = [];
      for (const i of byNode.get(nodeId) ?? []) {
        if (i.desired === "stopped" && (this.drainUntil.get(i.id) ?? 0) <= now) continue;
        const app = appById.get(i.appId);
        const live = liveRelease.get(i.releaseId);
        const release = live && live.appId === i.appId ? live.release : extraById.get(i.releaseId);
        if (!app || !release) continue;
        const oneOff = i.desired === "oneoff" ? this.oneOffs.get(i.id) : undefined;
        if (i.desired === "oneoff" && !oneOff) continue; // its command was lost with a restart; it is cleaned up
        const l = limitsOf(i);
        const fp = specFingerprint(i, app, release, l, pullHost, oneOff);
        let entry = this.specs.get(i.id);
        if (entry?.fp !== fp) entry = { fp, spec: instanceSpec(i, app, release, l, pullHost, oneOff) };
        specs.set(i.id, entry);
        entries.push(entry);
      }
      const key = entries
        .map((e) => e.fp)
        .sort()
        .join("\n");
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
      void this.agents
        .setDesiredState(nodeId, desired)
        .then(
          () => {
            this.lastSent.set(nodeId, key);
          },
          (err: unknown) => {
            this.s.log.warn({ err, node: nodeId }, "sending desired state failed; retrying at next pass");
            this.lastSent.delete(nodeId);
          },
        )
        .finally(() => {
          this.sending.delete(nodeId);
          if (this.resend.delete(nodeId)) this.kick();
        });
    }
    this.specs = specs;
  }

  private async applyRoutes(
    apps: { id: string; name: string; teamId: string; maintenance: boolean; domains: { hostname: string }[] }[],
    instances: {
      appId: string;
      processType: string;
      desired: string;
      state: string;
      hostPort: number | null;
      nodeId: string | null;
    }[],
    nodes: RouteNode[],
    serving: ReadonlySet<string>,
  ): Promise<boolean> {
    if (!this.router) return true;
    const routes = routesFor(this.s.config, apps, instances, nodes, serving);
    const key = JSON.stringify(routes);
    if (key === this.lastRoutes) return true;
    try {
      await this.router.apply(routes);
      this.lastRoutes = key;
      return true;
    } catch (err) {
      this.s.log.error({ err }, "router update failed; retrying at next pass");
      return false;
    }
  }
}

const schedulers = new WeakMap<Services, Scheduler>();

/** The scheduler of a control plane (one per Services; created stopped, started by the control plane). */
export function schedulerFor(s: Services, agents: AgentHub, opts?: SchedulerOptions): Scheduler {
  let sched = schedulers.get(s);
  if (!sched) {
    sched = new Scheduler(s, agents, opts);
    schedulers.set(s, sched);
  }
  return sched;
}

/** The scheduler of a control plane if one was created. */
export function findScheduler(s: Services): Scheduler | undefined {
  return schedulers.get(s);
}
