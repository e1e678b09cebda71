// Invitations: single-use, bound to the invited email, expiring. The link is shown to the inviter once.
import type { Prisma } from "@prisma/client";
import type { Services, Actor } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { hashToken, looksLikeToken, newToken } from "../auth/secrets.ts";
import { requireTeam } from "./access.ts";
import { canChangeMember, isRole, type Role } from "./roles.ts";

export const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

type InvitationRow = {
  id: string;
  email: string;
  role: string;
  expiresAt: Date;
  acceptedAt: Date | null;
  createdAt: Date;
};

function toView(i: InvitationRow) {
  return {
    id: i.id,
    email: i.email,
    role: i.role,
    expiresAt: i.expiresAt.toISOString(),
    acceptedAt: i.acceptedAt?.toISOString() ?? null,
    createdAt: i.createdAt.toISOString(),
  };
}

/** Creates an invitation; returns the secret token once (the accept link carries it). */
export async function createInvitation(s: Services, actor: Actor, teamName: string, email: string, role: Role) {
  const { team, role: actorRole } = await requireTeam(s.db, actor, teamName, "invitations:manage");
  if (!canChangeMember(actorRole, null, role)) throw errors.forbidden("only owners can invite owners");
  const already = await s.db.membership.findFirst({ where: { teamId: team.id, user: { email } } });
  if (already) throw errors.conflict(`${email} is already a member of '${team.name}'`);
  const token = newToken("invite");
  const row = await s.db.invitation.create({
    data: {
      teamId: team.id,
      email,
      role,
      tokenHash: hashToken(token),
      invitedById: actor.userId,
      expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
    },
  });
  await recordAudit(s.db, actor, { teamId: team.id, action: "invitation.create", target: email, data: { role } });
  return { ...toView(row), team: team.name, token, acceptPath: `/invite/${token}` };
}

/** Pending (not accepted, not expired) invitations of a team. */
export async function listInvitations(s: Services, actor: Actor, teamName: string) {
  const { team } = await requireTeam(s.db, actor, teamName, "invitations:manage");
  const rows = await s.db.invitation.findMany({
    where: { teamId: team.id, acceptedAt: null, expiresAt: { gt: new Date() } },
    orderBy: { createdAt: "desc" },
  });
  return rows.map(toView);
}

/** Withdraws a pending invitation. */
export async function revokeInvitation(s: Services, actor: Actor, teamName: string, id: string) {
  const { team } = await requireTeam(s.db, actor, teamName, "invitations:manage");
  const row = await s.db.invitation.findFirst({ where: { id, teamId: team.id, acceptedAt: null } });
  if (!row) throw errors.notFound("invitation");
  await s.db.invitation.delete({ where: { id } });
  await recordAudit(s.db, actor, { teamId: team.id, action: "invitation.revoke", target: row.email });
}

/**
 * An invitation grants its role with its inviter's authority, so it is only as good as that authority is now: it
 * stops working once the inviter left the team or can no longer grant the role (an admin demoted to member, an owner
 * demoted to admin for an owner invitation). Throws 403 with the reason.
 */
async function requireInviterMayStillGrant(
  db: Db | Prisma.TransactionClient,
  row: { teamId: string; invitedById: string; role: string },
  teamName: string,
): Promise<void> {
  const inviter = await db.membership.findUnique({
    where: { teamId_userId: { teamId: row.teamId, userId: row.invitedById } },
  });
  const ok =
    inviter !== null && isRole(inviter.role) && isRole(row.role) && canChangeMember(inviter.role, null, row.role);
  if (!ok) {
    throw errors.forbidden(
      `this invitation is no longer valid: whoever sent it can no longer grant the ${row.role} role in '${teamName}'; ask a team admin for a new one`,
    );
  }
}

/** Looks up an invitation by its token for the accept page (team, email, role; no secrets). */
export async function peekInvitation(s: Services, token: string) {
  const row = looksLikeToken("invite", token)
    ? await s.db.invitation.findUnique({ where: { tokenHash: hashToken(token) }, include: { team: true } })
    : null;
  if (!row || row.acceptedAt || row.expiresAt.getTime() <= Date.now()) throw errors.notFound("invitation");
  await requireInviterMayStillGrant(s.db, row, row.team.name);
  return { team: row.team.name, email: row.email, role: row.role, expiresAt: row.expiresAt.toISOString() };
}

/** Accepts an invitation for the signed-in actor; the actor's email must be the invited one. Single use. */
export async function acceptInvitation(s: Services, actor: Actor, token: string) {
  const row = looksLikeToken("invite", token)
    ? await s.db.invitation.findUnique({ where: { tokenHash: hashToken(token) }, include: { team: true } })
    : null;
  if (!row || row.acceptedAt || row.expiresAt.getTime() <= Date.now()) throw errors.notFound("invitation");
  if (row.email !== actor.email) throw errors.forbidden("this invitation was sent to a different email address");
  return s.db.$transaction(async (tx) => {
    // Checked inside the transaction that grants the role, so a demotion cannot slip in between.
    await requireInviterMayStillGrant(tx, row, row.team.name);
    // Mark used first, conditionally, so two concurrent accepts cannot both succeed.
    const used = await tx.invitation.updateMany({
      where: { id: row.id, acceptedAt: null },
      data: { acceptedAt: new Date() },
    });
    if (used.count !== 1) throw errors.notFound("invitation");
    const existing = await tx.membership.findUnique({
      where: { teamId_userId: { teamId: row.teamId, userId: actor.userId } },
    });
    if (!existing) await tx.membership.create({ data: { teamId: row.teamId, userId: actor.userId, role: row.role } });
    await recordAudit(tx, actor, {
      teamId: row.teamId,
      action: "invitation.accept",
      target: actor.email,
      data: { role: row.role },
    });
    return { team: row.team.name, role: existing?.role ?? row.role };
  });
}
