// The actor's personal team: the default place for apps created without a team.
import type { Services, Actor } from "../context.ts";
import { errors } from "../errors.ts";

/** Name of the actor's personal team. */
export async function personalTeamOf(s: Services, actor: Actor): Promise<string> {
  const m = await s.db.membership.findFirst({
    where: { userId: actor.userId, team: { personal: true } },
    include: { team: true },
  });
  if (!m) throw errors.validation("you have no personal team; pass a team");
  return m.team.name;
}
