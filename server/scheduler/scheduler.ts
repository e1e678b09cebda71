// The scheduler: one reconcile loop that turns releases and formations into instances on nodes. Each pass reads the
// whole picture (snapshot.ts), places one-offs (one-offs.ts), runs the pure rollout plan per app and applies it
// (apply-plan.ts, start-instances.ts), forgets stopped instances (drain.ts), sends each changed node its full desired
// state (desired-state.ts) and refreshes the router. Agent events kick it (instance-events.ts), as does every change
// (kick) and a periodic resync; passes never overlap. This file is the loop only; shared types are in scheduler-core.ts.
import { EventEmitter } from "node:events";
import type { AgentHub } from "../nodes/agent-hub.ts";
import { applyAppPlan } from "./apply-plan.ts";
import { DesiredStates } from "./desired-state.ts";
import { forgetStopped, startDrains } from "./drain.ts";
import { type AgentListeners, agentListeners } from "./instance-events.ts";
import { placeOneOffs } from "./one-offs.ts";
import { type RouteNode, routesFor } from "./routes.ts";
import {
  DEFAULT_SCHEDULER_OPTIONS,
  type InstanceRow,
  newSchedulerState,
  type RouteSink,
  type SchedulerCore,
  type SchedulerOptions,
  type SchedulerServices,
  type SchedulerState,
} from "./scheduler-core.ts";
import { readSnapshot } from "./snapshot.ts";

export {
  DEFAULT_SCHEDULER_OPTIONS,
  type ReleaseOutcome,
  type RouteSink,
  type SchedulerOptions,
  type SchedulerServices,
} from "./scheduler-core.ts";

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
  private readonly state: SchedulerState = newSchedulerState();
  /** What the parts of a pass see of this scheduler. */
  private readonly core: SchedulerCore;
  private readonly desiredStates: DesiredStates;
  private readonly agentListeners: AgentListeners;
  private router: RouteSink | undefined;
  /** Commands of one-off instances (`berth run`), by instance id; they do not outlive this control plane. */
  readonly oneOffs: Map<string, { command: string }>;
  private lastRoutes = "";
  /** When start() ran: agents get the lost-node grace period from then on to reconnect (lost-nodes.ts). */
  private startedAt = 0;
  /** Timings; tests may tune them on a running scheduler. */
  readonly opts: SchedulerOptions;

  private readonly agents: AgentHub;

  constructor(
    private readonly s: SchedulerServices,
    opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS,
  ) {
    super();
    this.agents = s.agents;
    // A copy: tests tune timings of one scheduler without touching the defaults.
    this.opts = { ...opts, plan: { ...opts.plan } };
    this.oneOffs = this.state.oneOffs;
    this.core = {
      s,
      agents: this.agents,
      opts: this.opts,
      state: this.state,
      emit: (event, ...args) => void this.emit(event, ...args),
      note: (appName, text) => {
        this.s.log.info({ app: appName }, text);
        this.emit("decision", appName, text);
        this.emit("rollout-note", appName, text);
      },
      kick: () => this.kick(),
    };
    this.desiredStates = new DesiredStates(this.core);
    this.agentListeners = agentListeners(this.core);
  }

  /** Starts reacting to node and instance changes, and the periodic resync. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.startedAt = Date.now();
    this.agents.on("registered", this.agentListeners.onRegistered);
    this.agents.on("down", this.agentListeners.onNodeChange);
    this.agents.on("event", this.agentListeners.onInstanceEvent);
    this.timer = setInterval(() => this.kick(), this.opts.resyncMs);
    this.timer.unref();
    this.s.schedulerKick.connect(() => this.kick());
    this.kick();
  }

  /** Stops the loop (an ongoing pass finishes). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.s.schedulerKick.connect(undefined);
    this.agents.off("registered", this.agentListeners.onRegistered);
    this.agents.off("down", this.agentListeners.onNodeChange);
    this.agents.off("event", this.agentListeners.onInstanceEvent);
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
    return this.state.placementIssues.get(appId);
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
    const snap = await readSnapshot(this.s, this.agents, this.opts.nodeLostGraceMs, this.startedAt, now);
    const { nodes, apps, appById, capacity, lostNodes, connected, serving } = snap;
    let instances = snap.instances;

    let changed = await placeOneOffs(
      this.core,
      instances,
      [...capacity.values()],
      appById,
      snap.requestsOf,
      snap.requestsOfInstance,
    );
    // One-offs are not part of the formation; they live until their command exits.
    const byApp = new Map<string, InstanceRow[]>();
    for (const i of instances) {
      if (i.desired === "oneoff") continue;
      const list = byApp.get(i.appId);
      if (list) list.push(i);
      else byApp.set(i.appId, [i]);
    }
    for (const app of apps) {
      const mine = byApp.get(app.id) ?? [];
      if (app.releases.length === 0 && mine.every((i) => i.desired === "stopped")) continue;
      if (await applyAppPlan(this.core, snap, app, mine, now)) changed = true;
    }

    if (changed) instances = await this.s.db.instance.findMany();
    await forgetStopped(this.core, instances, lostNodes, connected, now);
    await this.desiredStates.send(
      nodes.map((n) => n.id),
      instances,
      apps,
      snap.limitsOfInstance,
      now,
    );
    // An add-on's service app runs a "web" process (its port and TCP check) but is never routed (server/addons).
    const routed = apps.filter((a) => !a.addonService);
    if (await this.applyRoutes(routed, instances, nodes, serving)) startDrains(this.core);
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
