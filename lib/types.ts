// Wire types of the REST API, inferred from the server's zod schemas so the dashboard cannot drift from them.
// Type-only imports: nothing from server/ ends up in the browser bundle.
import type { z } from "zod";
import type {
  AppDetailSchema,
  AppSchema,
  AuditEventSchema,
  CreatedInvitationSchema,
  CreatedTokenSchema,
  InvitationSchema,
  MemberSchema,
  SessionSchema,
  TeamSchema,
  TokenSchema,
  UserSchema,
} from "@/server/http/schemas.ts";
import type { ActivityItemSchema } from "@/server/http/routes/activity.ts";
import type { CreatedJoinTokenSchema, NodeDetailSchema, NodeSchema } from "@/server/nodes/schemas.ts";

export type User = z.infer<typeof UserSchema>;
export type Session = z.infer<typeof SessionSchema>;
export type Team = z.infer<typeof TeamSchema>;
export type Member = z.infer<typeof MemberSchema>;
export type Invitation = z.infer<typeof InvitationSchema>;
export type CreatedInvitation = z.infer<typeof CreatedInvitationSchema>;
export type App = z.infer<typeof AppSchema>;
export type AppDetail = z.infer<typeof AppDetailSchema>;
export type ApiToken = z.infer<typeof TokenSchema>;
export type CreatedApiToken = z.infer<typeof CreatedTokenSchema>;
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** Roles ordered from least to most privileged (mirrors server/teams/roles.ts). */
export const ROLES = ["viewer", "member", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];

/** What an invitation token resolves to before it is accepted. */
export interface InvitationPreview {
  team: string;
  email: string;
  role: string;
  expiresAt: string;
}

/** 201 (existing user added) or 202 (invitation created) from POST /teams/{team}/members. */
export type AddMemberResult = { member: Member } | { invitation: CreatedInvitation };

// ---- app runtime: releases, config, formation, instances, activity, nodes ------------------------------------

/** A release as listed (GET /apps/{app}/releases); `config` only for roles that may reveal config values. */
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

export type InstanceState = "pending" | "starting" | "running" | "stopping" | "stopped" | "crashed" | "failed";

/** A running (or recently stopped) process of an app (GET /apps/{app}/instances). */
export interface Instance {
  id: string;
  processType: string;
  state: InstanceState | (string & {});
  release: number;
  node: { id: string; name: string } | null;
  hostPort: number | null;
  restarts: number;
  exitCode: number | null;
  reason: string | null;
  startedAt: string | null;
  updatedAt: string;
}

/** One entry of an app's timeline (GET /apps/{app}/activity). */
export type ActivityItem = z.infer<typeof ActivityItemSchema>;
export type Node = z.infer<typeof NodeSchema>;
export type NodeDetail = z.infer<typeof NodeDetailSchema>;
export type CreatedJoinToken = z.infer<typeof CreatedJoinTokenSchema>;

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

// ---- resources: add-ons and volumes -----------------------------------------------------------------------------

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
