// The live channels of an app and what each needs: the one table both the subscribe check and every later re-check
// (membership change, app moved, periodic) read. docs/permissions.md is its written form.
import { can, type Action, type Role } from "../teams/roles.ts";
import type { Channel } from "../service-types.ts";

export { CHANNELS, type Channel } from "../service-types.ts";

/** The team action a subscriber needs on the app, per channel. */
export const CHANNEL_ACTIONS: Readonly<Record<Channel, Action>> = {
  logs: "app:read",
  stats: "app:read",
  events: "app:read",
  builds: "app:read",
};

/** Whether a member with `role` in the app's team (null: not a member) may receive `channel`. */
export function channelAllows(role: Role | null, channel: Channel): boolean {
  return role !== null && can(role, CHANNEL_ACTIONS[channel]);
}
