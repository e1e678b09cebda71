// The client's view of the permission matrix (server/teams/roles.ts is the authority; this only hides or
// disables controls the server would refuse anyway).
import { ROLES, type Role } from "./types";

function rank(role: string): number {
  return ROLES.indexOf(role as Role);
}

/** True if `role` is at least `min`. */
export function atLeast(role: string | undefined, min: Role): boolean {
  return role !== undefined && rank(role) >= rank(min);
}

/** One-line description of each role for pickers. */
export const ROLE_HELP: Record<Role, string> = {
  viewer: "Read-only access to apps and members",
  member: "Deploy, scale and edit config",
  admin: "Manage apps, members and invitations",
  owner: "Everything, including deleting the team",
};
