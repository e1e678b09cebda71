// The JSON the REST API (/api/v1) answers with, as plain types for its clients: the dashboard (lib/types.ts) and the
// CLI (cli/api-types.ts). No imports and no runtime code, so neither bundle pulls anything in through it. The server
// declares the same shapes as zod schemas (server/http/schemas/<resource>.ts: validation and the OpenAPI document);
// each of those modules proves at compile time that its schemas and these types describe the same JSON, so a field
// added on one side and not the other fails `tsc`.

/** Every error: `{ error: { code, message } }` (docs/api.md lists the codes). */
export interface ErrorBody {
  error: { code: string; message: string };
}

// ---- accounts, teams, members, invitations, tokens, audit --------------------------------------------------------

export interface User {
  id: string;
  email: string;
  name: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface Session {
  user: User;
  /** For cookie sessions: send as X-CSRF-Token with every mutation. */
  csrfToken: string | null;
  via: "session" | "token";
}

export interface Team {
  id: string;
  name: string;
  personal: boolean;
  role: string;
  apps: number;
  members: number;
  createdAt: string;
}

export interface Member {
  id: string;
  userId: string;
  email: string;
  name: string;
  role: string;
  createdAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  expiresAt: string;
  acceptedAt: string | null;
  createdAt: string;
}

/** An invitation right after creation, with its single-use token. */
export interface CreatedInvitation extends Invitation {
  team: string;
  token: string;
  acceptPath: string;
}

/** What an invitation token resolves to before it is accepted (POST /invitations/lookup). */
export interface InvitationPreview {
  team: string;
  email: string;
  role: string;
  expiresAt: string;
}

/** The team joined (POST /invitations/accept). */
export interface AcceptedInvitation {
  team: string;
  role: string;
}

/** 201 (existing user added) or 202 (invitation created) from POST /teams/{team}/members. */
export type AddMemberResult = { member: Member } | { invitation: CreatedInvitation };

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** A token right after creation, with its secret (shown once). */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

export interface AuditEvent {
  id: string;
  action: string;
  target: string;
  app: string | null;
  actor: string;
  ip: string;
  data: Record<string, unknown>;
  createdAt: string;
}

// ---- apps, builds, releases, config, formation, deploy settings -------------------------------------------------

/** Live: a newer release rolling out, an instance crashed, instances running, or nothing running. */
export type AppStatus = "deploying" | "crashed" | "running" | "idle";

export interface App {
  id: string;
  name: string;
  team: string;
  maintenance: boolean;
  webUrl: string;
  gitUrl: string;
  currentRelease: number | null;
  status: AppStatus;
  instances: { running: number; total: number };
  createdAt: string;
  updatedAt: string;
}

/** An app with the caller's role and its formation (GET /apps/{app}). */
export interface AppDetail extends App {
  role: string;
  formation: ProcessFormation[];
}

export interface Build {
  id: string;
  status: string;
  ref: string;
  commit: string;
  image: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface BuildDetail extends Build {
  output: string;
}

/** A release; `config` only for roles that may reveal config values. */
export interface Release {
  version: number;
  name: string;
  image: string;
  processTypes: Record<string, string>;
  configKeys: string[];
  config?: Record<string, string>;
  description: string;
  status: string;
  failReason: string | null;
  buildId: string | null;
  createdBy: string | null;
  createdAt: string;
}

/** A config var; `masked` when the role may not see this (secret-looking) value. */
export interface ConfigVar {
  key: string;
  value: string;
  masked: boolean;
  buildTime: boolean;
}

/** PATCH /apps/{app}/config: the vars after the change and the release it made (null: none). */
export interface ConfigChangeResult {
  config: ConfigVar[];
  release: number | null;
}

/** One process type's desired state. */
export interface ProcessFormation {
  type: string;
  quantity: number;
  memoryMb: number;
  cpu: number;
  /** Size of each instance's writable layer (MiB). */
  diskMb: number;
  /** Network bandwidth of each instance, each way (Mbit/s). */
  bandwidthMbit: number;
  /** Memory placement counts per instance (MB): the memory limit unless set lower. */
  memoryRequestMb: number;
  /** CPU placement counts per instance (cores), apart from the CPU limit. */
  cpuRequest: number;
}

export interface DeploySettings {
  /** New instances per process type starting at a time during rollouts and restarts; 0 = all at once. */
  rolloutBatch: number;
  /** Path web instances must answer with 2xx/3xx to count as started; null = TCP connect only. */
  healthCheckPath: string | null;
}

// ---- instances, rollouts, logs, stats, activity -----------------------------------------------------------------

export type InstanceState = "pending" | "starting" | "running" | "stopping" | "stopped" | "crashed" | "failed";

/** A running (or recently stopped) process of an app (GET /apps/{app}/instances). */
export interface Instance {
  id: string;
  processType: string;
  state: InstanceState | (string & {});
  desired: string;
  release: number;
  node: { id: string; name: string } | null;
  hostPort: number | null;
  restarts: number;
  exitCode: number | null;
  reason: string | null;
  startedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** Where an app's rollout stands (GET /apps/{app}/rollout). */
export interface RolloutStatus {
  release: { version: number; status: string; failReason: string | null } | null;
  deployed: number | null;
  processes: { type: string; quantity: number; running: number; starting: number; replacing: number }[];
  old: number;
  stopping: number;
  failing: { instance: string; processType: string; reason: string }[];
  placementIssue: string | null;
  nodeReady: boolean;
  settled: boolean;
}

/** POST /apps/{app}/restart: how many instances are being replaced. */
export interface RestartResult {
  restarting: number;
}

export interface LogEntry {
  seq: number;
  at: string;
  stream: "stdout" | "stderr";
  source: "app" | "router" | "berth";
  processType?: string;
  instance?: string;
  release?: string;
  text: string;
}

/** GET /apps/{app}/logs: entries oldest first, and the app's newest seq (resume a live stream from it). */
export interface Logs {
  entries: LogEntry[];
  lastSeq: number;
}

export interface StatsPoint {
  at: string;
  /** Share of one core since the previous point; null first. */
  cpuPercent: number | null;
  memoryBytes: number;
  /** 0 = no limit. */
  memoryLimitBytes: number;
  /** Cumulative since the container started. */
  netRxBytes: number;
  netTxBytes: number;
  blkReadBytes: number;
  blkWriteBytes: number;
  pids: number;
}

export interface AppStats {
  instances: { instanceId: string; processType: string; points: StatsPoint[] }[];
}

/** One entry of an app's timeline (GET /apps/{app}/activity). */
export interface ActivityItem {
  id: string;
  action: string;
  target: string;
  /** Email of who did it, or "system". */
  actor: string;
  at: string;
  /** A short sentence; never contains config values. */
  summary: string;
}

// ---- resources: domains, volumes, add-ons ----------------------------------------------------------------------

export interface Domain {
  hostname: string;
  /** pending: not routed, no certificate, until the TXT record is published and verified. */
  status: "pending" | "verified";
  cname: string;
  url: string;
  https: boolean;
  verification: { type: "TXT"; name: string; value: string };
  verifiedAt: string | null;
  expiresAt: string | null;
  createdAt: string;
}

/** A persistent volume of an app (GET /apps/{app}/volumes). */
export interface Volume {
  name: string;
  processType: string;
  mountPath: string;
  sizeMb: number;
  /** Null until its first instance starts. */
  node: string | null;
  createdAt: string;
}

export interface VolumeInfo extends Volume {
  usedBytes: number | null;
  instances: string[];
}

/** A backup of a volume (GET /apps/{app}/volumes/{volume}/backups): a tar archive in the platform's data dir. */
export interface VolumeBackup {
  id: string;
  volume: string;
  state: "capturing" | "completed" | "failed" | (string & {});
  sizeBytes: number;
  /** Why it failed. */
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** A managed service of an app (GET /apps/{app}/addons); never its credentials. */
export interface Addon {
  name: string;
  kind: string;
  plan: string;
  /** Pinned major version ("15"). */
  version: string;
  state: "provisioning" | "available" | "failed" | "deprovisioning" | (string & {});
  /** The config var it sets on the app (DATABASE_URL, REDIS_URL). */
  configVar: string;
  failReason: string | null;
  createdAt: string;
  /** Other apps of the team it is attached to. */
  attachedTo: string[];
}

/** `GET /apps/{app}/addons/{addon}`: an add-on with its size, node and live figures (null: not known now). */
export interface AddonInfo extends Addon {
  memoryMb: number;
  sizeMb: number;
  usedBytes: number | null;
  node: string | null;
  running: boolean;
  maxConnections: number;
  connections: number | null;
  dataBytes: number | null;
}

/** An add-on of another app of the team attached to this one. */
export interface AddonAttachment {
  addon: string;
  kind: string;
  owner: string;
  configVar: string;
  createdAt: string;
}

// ---- nodes, platform stacks, platform status ------------------------------------------------------------------

/** A node join token as listed (never the secret). */
export interface JoinToken {
  id: string;
  name: string;
  team: string | null;
  local: boolean;
  expiresAt: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface CreatedJoinToken extends JoinToken {
  token: string;
}

export interface Node {
  id: string;
  name: string;
  /** Where the router reaches the node. */
  address: string;
  observedAddress: string;
  reportedAddress: string;
  addressOverride: string | null;
  local: boolean;
  /** Why nothing is routed to or placed on the node; null when routable. */
  unroutable: string | null;
  cpus: number;
  memoryMb: number;
  diskMb: number;
  kernel: string;
  cgroup: string;
  userNamespaces: boolean | null;
  version: string;
  state: string;
  cordoned: boolean;
  team: string | null;
  lastSeenAt: string | null;
  createdAt: string;
}

export interface NodeDetail extends Node {
  instances: {
    id: string;
    processType: string;
    state: string;
    hostPort: number | null;
    exitCode: number | null;
    reason: string;
    restarts: number;
    updatedAt: string;
  }[];
}

/** Answer of cordon, uncordon and drain (`moving`: instances a drain moves). */
export interface NodeCordon {
  id: string;
  name: string;
  cordoned: boolean;
  moving?: number;
}

export interface RemovedNode {
  id: string;
  name: string;
  instances: number;
  disconnected: boolean;
}

export interface Stack {
  name: "node" | "static";
  image: string | null;
  hash: string | null;
  built: boolean;
  builtAt: string | null;
  id: string | null;
  description: string | null;
  nodeVersion: string | null;
  cached: boolean;
  problem: string | null;
}

export interface StackRebuild {
  id: string;
  status: "running" | "succeeded" | "failed";
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  stacks: string[];
  outputStart: number;
  output: string[];
}

export interface Stacks {
  stacks: Stack[];
  rebuild: StackRebuild | null;
}

export type ComponentStatus = "ok" | "restarting" | "degraded" | "down";

/** One platform component as the instance admin sees it (GET /admin/status). */
export interface PlatformComponent {
  name: string;
  status: ComponentStatus;
  detail: string;
  since: string;
  restarts: number | null;
  startedAt: string | null;
  lastExit: { at: string; code: number | null; signal: string | null } | null;
}

/** The platform's health (GET /admin/status, instance admin only). */
export interface PlatformStatus {
  status: "ok" | "degraded" | "down";
  checkedAt: string;
  components: PlatformComponent[];
}
