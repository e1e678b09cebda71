// What the parts of the scheduler share: the instance row every part reads, the options, the state kept from one pass
// to the next, and the handle (SchedulerCore) through which a part logs, emits events and asks for another pass. The
// parts are plain functions over this handle rather than methods of one class, so each file shows what its step of
// a pass reads and changes.
import type { Instance } from "@prisma/client";
import type { Services } from "../context.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import type { PlanOptions } from "./plan.ts";
import type { AppRoute } from "./routes.ts";

/** An instance as stored: what every step of a pass reads (one type, so a new column reaches every step). */
export type InstanceRow = Instance;

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
export interface InstanceLimits {
  appId: string;
  processType: string;
  memoryMb: number | null;
  cpu: number | null;
  diskMb: number | null;
  bandwidthMbit: number | null;
  cpuRequest?: number | null;
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

/** What one pass leaves for the next (all in memory: a restarted control plane rebuilds it from the database). */
export interface SchedulerState {
  /** Stopped instances kept in their node's desired state until then (drain, see drain.ts). */
  readonly drainUntil: Map<string, number>;
  /** Instances marked stopped whose removal from the router is not confirmed yet. */
  readonly routing: Set<string>;
  /** Why the last pass could not place some of an app's instances, by app id. */
  readonly placementIssues: Map<string, string>;
  /**
   * Per app, the process types the last pass could not place every new instance of for want of room, with how many
   * it placed: their rollouts go on in batches that fit (plan.ts).
   */
  readonly noRoom: Map<string, Map<string, number>>;
  /** Commands of one-off instances (`berth run`), by instance id; they do not outlive this control plane. */
  readonly oneOffs: Map<string, { command: string }>;
}

export function newSchedulerState(): SchedulerState {
  return {
    drainUntil: new Map(),
    routing: new Set(),
    placementIssues: new Map(),
    noRoom: new Map(),
    oneOffs: new Map(),
  };
}

/** What the scheduler uses of the control plane: every part but itself (it is built into Services as `scheduler`). */
export type SchedulerServices = Omit<Services, "scheduler">;

/** The scheduler as its parts see it. */
export interface SchedulerCore {
  readonly s: SchedulerServices;
  readonly agents: AgentHub;
  /** Timings; tests may tune them on a running scheduler. */
  readonly opts: SchedulerOptions;
  readonly state: SchedulerState;
  /** Emits one of the Scheduler's events (see scheduler.ts). */
  emit(event: string, ...args: unknown[]): void;
  /**
   * A rollout decision worth telling the pusher (batches that fit, instances stopped for room): the app's log gets it
   * as a `decision`, and `git push` / rollout watchers as a `rollout-note` (appName, text).
   */
  note(appName: string, text: string): void;
  /** Asks for another pass soon. */
  kick(): void;
}
