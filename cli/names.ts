// Client-side checks of names and ids before they go into URLs, for a clear early error. They repeat the server's
// rules (server/validation/names.ts, server/teams/roles.ts) instead of importing them: the CLI is a pure client of
// /api/v1 and must not load server code (or zod's full build) at start. cli/names.test.ts keeps the two in step.
import { usageError } from "./errors.ts";

const NAME_PATTERN = /^[a-z][a-z0-9-]{1,29}$/;

/** Names the server refuses for apps and teams (same list as the server's RESERVED_NAMES). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  "api",
  "www",
  "git",
  "admin",
  "app",
  "apps",
  "berth",
  "dashboard",
  "registry",
  "router",
  "login",
  "logout",
  "signup",
  "static",
  "assets",
  "healthz",
  "status",
  "teams",
  "team",
  "settings",
  "system",
  "root",
  "localhost",
  "mail",
  "ftp",
  "ns1",
  "ns2",
]);

/** Team roles, lowest first. */
export const ROLES = ["viewer", "member", "admin", "owner"] as const;

/** Why `value` is not a valid app/team name (the server's wording), or null when it is valid. */
export function nameProblem(value: string): string | null {
  if (!NAME_PATTERN.test(value))
    return "must start with a lowercase letter and contain only lowercase letters, digits and dashes (2-30 chars)";
  if (value.endsWith("-") || value.includes("--")) return "must not end with a dash or contain '--'";
  if (RESERVED_NAMES.has(value)) return "is reserved";
  return null;
}

/** Returns `value` if it is a valid app/team name, else throws a usage error saying why. */
export function checkName(kind: "app" | "team", value: string): string {
  const why = nameProblem(value);
  if (why) throw usageError(`invalid ${kind} name ${JSON.stringify(value)}: ${why}`);
  return value;
}

/** True for ids the database generates (cuid), like build ids. */
export function isResourceId(value: string): boolean {
  return /^[a-z0-9]{20,32}$/.test(value);
}
