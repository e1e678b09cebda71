// Client-side checks of names and ids before they go into URLs, for a clear early error. The rules are the server's
// own (shared/names.ts, shared/roles.ts: plain TypeScript, no server code and no zod), so they cannot drift.
import { usageError } from "./errors.ts";
import { nameProblem } from "../shared/names.ts";

export { isResourceId, nameProblem, RESERVED_NAMES } from "../shared/names.ts";
export { ROLES } from "../shared/roles.ts";

/** Returns `value` if it is a valid app/team name, else throws a usage error saying why. */
export function checkName(kind: "app" | "team", value: string): string {
  const why = nameProblem(value);
  if (why) throw usageError(`invalid ${kind} name ${JSON.stringify(value)}: ${why}`);
  return value;
}
