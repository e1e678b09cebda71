// Client-side checks of names before they go into URLs, using the server's own rules for a clear early error.
import { ResourceName } from "../server/validation/names.ts";
import { usageError } from "./errors.ts";

/** Returns `value` if it is a valid app/team name, else throws a usage error saying why. */
export function checkName(kind: "app" | "team", value: string): string {
  const r = ResourceName.safeParse(value);
  if (!r.success) {
    const why = r.error.issues[0]?.message ?? "is invalid";
    throw usageError(`invalid ${kind} name ${JSON.stringify(value)}: ${why}`);
  }
  return value;
}
