// Personal API tokens: shown once, stored hashed, named, optionally expiring, revocable at once.
import type { Services, Actor } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors, unlessDiskFull } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { hashToken, looksLikeToken, newToken } from "../auth/secrets.ts";
import { inBatches } from "../db/batches.ts";

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
  const updated = row.revokedAt ? row : await s.db.apiToken.update({ where: { id }, data: { revokedAt: new Date() } });
  await recordAudit(s.db, actor, { action: "token.revoke", target: row.name, data: { id } });
  // Open streams authenticated by this token end now, not at their next request (there is none).
  s.access.emit("tokenRevoked", id);
  return toTokenView(updated);
}

/** Whether a token row may still authenticate (not revoked, not expired). */
function isLive(row: { revokedAt: Date | null; expiresAt: Date | null }, now = Date.now()): boolean {
  return !row.revokedAt && !(row.expiresAt && row.expiresAt.getTime() <= now);
}

/**
 * Resolves a bearer secret to the live token's id and its user; every call hits the database, so revocation is
 * immediate. Long-lived connections keep the id to notice a later revocation.
 */
export async function resolveApiTokenCredential(db: Db, secret: string) {
  if (!looksLikeToken("api", secret)) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashToken(secret) }, include: { user: true } });
  if (!row || !isLive(row)) return null;
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    // Bookkeeping: on a full disk the request still goes through (reads and pushes must not fail for it).
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(unlessDiskFull);
  }
  return { tokenId: row.id, user: row.user };
}

/** Resolves a bearer secret to its user if the token is live (see resolveApiTokenCredential). */
export async function resolveApiToken(db: Db, secret: string) {
  return (await resolveApiTokenCredential(db, secret))?.user ?? null;
}

/** Which of these token ids may still authenticate (the others were revoked, expired or deleted). */
export async function liveTokenIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const live = new Set<string>();
  const now = Date.now();
  for (const slice of inBatches(ids)) {
    const rows = await db.apiToken.findMany({
      where: { id: { in: slice } },
      select: { id: true, revokedAt: true, expiresAt: true },
    });
    for (const r of rows) if (isLive(r, now)) live.add(r.id);
  }
  return live;
}
