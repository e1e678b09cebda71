// What every domain function receives: the database, configuration, a logger, and who is acting.
import type { Config } from "./config.ts";
import type { Db } from "./db/client.ts";
import type { Logger } from "./logger.ts";
import type { RegistryInfo, StreamPublisher } from "./service-types.ts";
import type { AccessEvents } from "./auth/access-events.ts";
import type { PlatformHealth } from "./health/platform-health.ts";
import type { StatsHistory } from "./stats/history.ts";
import type { AppLogs } from "./logs/app-logs.ts";
import type { StackRebuilds } from "./builds/stacks/rebuild-job.ts";
import type { SchedulerKick } from "./scheduler/kick.ts";
import type { AgentControlSeam } from "./nodes/agent-control.ts";
import type { AgentHub } from "./nodes/agent-hub.ts";
import type { Scheduler } from "./scheduler/scheduler.ts";
import type { AddonImages } from "./addons/image.ts";

/** Shared dependencies of the control plane, created once at start. */
export interface Services {
  db: Db;
  config: Config;
  log: Logger;
  /** Live fan-out to stream subscribers (logs, stats, events, build output). */
  hub: StreamPublisher;
  /** Access changes (token revoked, session ended, membership changed, app destroyed or moved) as they happen. */
  access: AccessEvents;
  /** Address and credentials of the platform registry; throws when it is not running. */
  registry: () => RegistryInfo;
  /** The platform's component probes (`/healthz`, admin status, the registry gate), built once per control plane. */
  health: PlatformHealth;
  /** Recent stats of every instance, fed by the stats ingest (stats/ingest.ts) and read by `GET .../stats`. */
  stats: StatsHistory;
  /** The app log store and the app lookup cache of log ingest. */
  logs: AppLogs;
  /** The one background rebuild of the platform stacks (`berth stacks:rebuild`). */
  stacks: StackRebuilds;
  /** Asks the running scheduler for a pass after a change (a no-op when none runs). */
  schedulerKick: SchedulerKick;
  /** Closes agent sockets when a node is removed or a join token revoked (the agent hub connects to it). */
  agentControl: AgentControlSeam;
  /** Where add-on service images come from (the platform stacks pushed to the registry; tests replace the source). */
  addonImages: AddonImages;
  /** Every agent connection of this control plane: desired states, requests to nodes, volume and exec frames. */
  agents: AgentHub;
  /**
   * The reconcile loop, built stopped with the control plane and started by it when `config.scheduler` is on. Domain
   * code reads its one-offs, events and timings; to ask for a pass it uses `schedulerKick`.
   */
  scheduler: Scheduler;
}

/** The authenticated caller of a request. */
export interface Actor {
  userId: string;
  email: string;
  isAdmin: boolean;
  /** How the caller authenticated: cookie session (dashboard) or bearer API token (CLI, git, scripts). */
  via: "session" | "token";
  ip: string;
}
