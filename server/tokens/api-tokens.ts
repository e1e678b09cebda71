// Personal API tokens: shown once, stored hashed, named, optionally expiring, revocable at once.
import type { Services, Actor } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { hashToken, looksLikeToken, newToken } from "../auth/secrets.ts";

// Writing lastUsedAt on every request would turn reads into writes; once a minute is enough to show activity.
const LAST_USED_RESOLUTION_MS = 60 * 1000;

type TokenRow = {
  id: string;
  name: string;
  prefix: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  createdAt: Date;
};

/** Public view of a token (never the secret). */
export function toTokenView(t: TokenRow) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
  };
}

/** Creates a token for the actor; the returned `token` is the only time the secret is visible. */
export async function createApiToken(s: Services, actor: Actor, name: string, expiresInDays?: number) {
  const token = newToken("api");
  const row = await s.db.apiToken.create({
    data: {
      userId: actor.userId,
      name,
      prefix: token.slice(0, 12),
      tokenHash: hashToken(token),
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86400 * 1000) : null,
    },
  });
  await recordAudit(s.db, actor, { action: "token.create", target: name, data: { id: row.id } });
  return { ...toTokenView(row), token };
}

/** Lists the actor's tokens, newest first. */
export async function listApiTokens(s: Services, actor: Actor) {
  const rows = await s.db.apiToken.findMany({ where: { userId: actor.userId }, orderBy: { createdAt: "desc" } });
  return rows.map(toTokenView);
}

/** Revokes one of the actor's tokens; another user's token id is a 404. */
export async function revokeApiToken(s: Services, actor: Actor, id: string) {
  const row = await s.db.apiToken.findFirst({ where: { id, userId: actor.userId } });
  if (!row) throw errors.notFound("token");
  const updated = row.revokedAt
    ? row
    : await s.db.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
  await recordAudit(s.db, actor, { action: "token.revoke", target: row.name, data: { id } });
  return toTokenView(updated);
}

/** Resolves a bearer secret to its user if the token is live; every call hits the database, so revocation is immediate. */
export async function resolveApiToken(db: Db, secret: string) {
  if (!looksLikeToken("api", secret)) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(secret) }, include: { user: true } });
  if (!row || row.revokedAt) return null;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } });
  }
  return row.user;
}
