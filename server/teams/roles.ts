// The team permission matrix (docs/permissions.md is the written form; keep them in step).
import { isRole, ROLES, type Role } from "../../shared/roles.ts";

// The roles themselves are shared with the dashboard and the CLI (shared/roles.ts).
export { isRole, ROLES, type Role };

/** Every action a route can require. */
export type Action =
  | "team:read"
  | "team:delete"
  | "app:read"
  | "app:create"
  | "app:update"
  | "app:delete"
  | "app:deploy"
  | "app:exec"
  | "app:scale"
  | "app:config"
  | "config:reveal"
  | "members:read"
  | "members:manage"
  | "invitations:manage"
  | "audit:read"
  | "nodes:manage";

/** Minimum role per action; roles are ordered viewer < member < admin < owner. */
export const PERMISSIONS: Readonly<Record<Action, Role>> = {
  "team:read": "viewer",
  "app:read": "viewer",
  "members:read": "viewer",
  "app:deploy": "member",
  "app:exec": "member",
  "app:scale": "member",
  "app:config": "member",
  "config:reveal": "member",
  "app:create": "admin",
  "app:update": "admin",
  "app:delete": "admin",
  "members:manage": "admin",
  "invitations:manage": "admin",
  "audit:read": "admin",
  "nodes:manage": "admin",
  "team:delete": "owner",
};

/** Rank of a role: higher can do more. */
export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}

/** True if `role` may perform `action`. */
export function can(role: Role, action: Action): boolean {
  return roleRank(role) >= roleRank(PERMISSIONS[action]);
}

/**
 * Whether `actor` may give `target` the role `newRole` (or remove them when newRole is null).
 * Admins manage members and viewers and admins; only owners touch owners or grant ownership.
 */
export function canChangeMember(actor: Role, targetCurrent: Role | null, newRole: Role | null): boolean {
  if (!can(actor, "members:manage")) return false;
  if (actor === "owner") return true;
  if (targetCurrent === "owner" || newRole === "owner") return false;
  return true;
}
