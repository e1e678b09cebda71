// Accounts: sign-up (first user becomes instance admin), the configured bootstrap admin, personal teams.
import type { Prisma } from "@prisma/client";
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { isValidResourceName } from "../validation/names.ts";
import { hashPassword } from "./secrets.ts";

/** Public view of a user. */
export function toUserView(u: { id: string; email: string; name: string; isAdmin: boolean; createdAt: Date }) {
  return { id: u.id, email: u.email, name: u.name, isAdmin: u.isAdmin, createdAt: u.createdAt.toISOString() };
}

/** Picks a free personal team name derived from the email's local part. */
async function personalTeamName(tx: Prisma.TransactionClient, email: string): Promise<string> {
  let base = (email.split("@")[0] ?? "")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+$/, "")
    .slice(0, 24);
  if (base.length < 2) base = "team";
  for (let i = 0; i < 50; i++) {
    const candidate = (i === 0 ? base : `${base}-${i + 1}`).replace(/-+$/, "");
    if (!isValidResourceName(candidate)) continue;
    if (!(await tx.team.findUnique({ where: { name: candidate } }))) return candidate;
  }
  return `team-${Date.now().toString(36)}`;
}

interface NewUser {
  email: string;
  password: string;
  name?: string | undefined;
}

/** Creates a user with their personal team (as owner). The very first user becomes instance admin. */
export async function createUser(s: Services, input: NewUser, ip: string, forceAdmin = false) {
  const passwordHash = await hashPassword(input.password);
  return s.db.$transaction(async (tx) => {
    if (await tx.user.findUnique({ where: { email: input.email } })) {
      throw errors.conflict("an account with this email already exists");
    }
    const isFirst = (await tx.user.count()) === 0;
    const user = await tx.user.create({
      data: { email: input.email, name: input.name ?? "", passwordHash, isAdmin: forceAdmin || isFirst },
    });
    const team = await tx.team.create({
      data: { name: await personalTeamName(tx, input.email), personal: true },
    });
    await tx.membership.create({ data: { teamId: team.id, userId: user.id, role: "owner" } });
    const actor = { userId: user.id, email: user.email, ip };
    await recordAudit(tx, actor, { teamId: team.id, action: "user.signup", target: user.email });
    return { user, team };
  });
}

/** Signs a new user up, unless sign-up is closed (the first user can always sign up). */
export async function signUp(s: Services, input: NewUser, ip: string) {
  if (!s.config.signupOpen && (await s.db.user.count()) > 0)
    throw errors.forbidden("sign-up is closed on this instance");
  return createUser(s, input, ip);
}

/** Creates the admin from BERTH_ADMIN_EMAIL/PASSWORD when no user exists yet. Idempotent. */
export async function bootstrapAdmin(s: Services): Promise<void> {
  if (!s.config.admin) return;
  if ((await s.db.user.count()) > 0) return;
  const { user, team } = await createUser(s, s.config.admin, "", true);
  s.log.info({ email: user.email, team: team.name }, "created the first admin from BERTH_ADMIN_EMAIL");
}

/** Deletes a user's sessions (used on password change and sign-out everywhere); their open streams close at once. */
export async function revokeUserSessions(s: Pick<Services, "db" | "access">, userId: string): Promise<void> {
  const sessions = await s.db.session.findMany({ where: { userId }, select: { id: true } });
  await s.db.session.deleteMany({ where: { userId } });
  for (const x of sessions) s.access.emit("sessionEnded", x.id);
}
