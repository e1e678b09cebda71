// Team roles, shared by the server (server/teams/roles.ts holds the permission matrix), the dashboard and the CLI.

/** Roles ordered from least to most privileged. */
export const ROLES = ["viewer", "member", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];

/** Narrows a stored or typed string to a Role. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
