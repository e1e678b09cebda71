// Browser sessions: opaque cookie token (stored hashed) plus a per-session CSRF token.
import crypto from "node:crypto";
import type { Db } from "../db/client.ts";
import type { Services } from "../context.ts";
import { inBatches } from "../db/batches.ts";
import { unlessDiskFull } from "../errors.ts";
import { hashToken, looksLikeToken, newToken } from "./secrets.ts";

export const SESSION_COOKIE = "berth_session";
export const CSRF_HEADER = "x-csrf-token";
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
// Refresh lastSeenAt at most this often, so reads do not become writes.
const TOUCH_INTERVAL_MS = 5 * 60 * 1000;

/** Starts a session; returns the cookie value (shown only here). */
export async function createSession(db: Db, userId: string, ip: string, userAgent: string) {
  const token = newToken("session");
  const session = await db.session.create({
    data: {
      tokenHash: hashToken(token),
      csrfToken: crypto.randomBytes(24).toString("base64url"),
      userId,
      ip,
      userAgent: userAgent.slice(0, 300),
      expiresAt: new Date(Date.now() + SESSION_TTL_MS),
    },
  });
  return { token, session };
}

/** Resolves a cookie value to a live session with its user, or null. */
export async function resolveSession(db: Db, token: string) {
  if (!looksLikeToken("session", token)) return null;
  const session = await db.session.findUnique({ where: { tokenHash: hashToken(token) }, include: { user: true } });
  if (!session) return null;
  if (session.expiresAt.getTime() <= Date.now()) {
    await db.session.delete({ where: { id: session.id } }).catch(() => undefined);
    return null;
  }
  if (Date.now() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
    // Bookkeeping: on a full disk the request still goes through (reads must not fail for it).
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: new Date() } }).catch(unlessDiskFull);
  }
  return session;
}

/** Ends the session identified by the cookie value; its open streams are closed at once (AccessEvents). */
export async function destroySession(s: Pick<Services, "db" | "access">, token: string): Promise<void> {
  if (!looksLikeToken("session", token)) return;
  const session = await s.db.session.findUnique({ where: { tokenHash: hashToken(token) }, select: { id: true } });
  if (!session) return;
  await s.db.session.deleteMany({ where: { id: session.id } });
  s.access.emit("sessionEnded", session.id);
}

/** Which of these session ids are still live (the others ended, expired or were deleted). */
export async function liveSessionIds(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const live = new Set<string>();
  const now = Date.now();
  for (const slice of inBatches(ids)) {
    const rows = await db.session.findMany({ where: { id: { in: slice } }, select: { id: true, expiresAt: true } });
    for (const r of rows) if (r.expiresAt.getTime() > now) live.add(r.id);
  }
  return live;
}

/** Constant-time comparison of the CSRF header against the session's token. */
export function csrfMatches(expected: string, provided: string | undefined): boolean {
  if (!provided) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
