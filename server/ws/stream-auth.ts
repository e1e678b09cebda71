// Who is behind a stream socket, and whether that still holds: the handshake is authenticated like the API (bearer
// token, or the session cookie from our own origin), and the socket remembers WHICH token or session it was, so
// that revoking that token or ending that session can close it (see StreamServer).
import type { IncomingMessage } from "node:http";
import type { Actor, Services } from "../context.ts";
import type { Db } from "../db/client.ts";
import { liveTokenIds, resolveApiTokenCredential } from "../tokens/api-tokens.ts";
import { SESSION_COOKIE, liveSessionIds, resolveSession } from "../auth/sessions.ts";

/** The credential a socket authenticated with. */
export type StreamCredential = { kind: "token"; id: string } | { kind: "session"; id: string };

/** An authenticated stream caller. */
export interface StreamIdentity {
  actor: Actor;
  credential: StreamCredential;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    try {
      out.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
    } catch {
      // A malformed escape in someone else's cookie is not ours to fail on.
    }
  }
  return out;
}

/** Authenticates an upgrade request; null means refuse with 401. */
export async function authenticateUpgrade(s: Services, req: IncomingMessage): Promise<StreamIdentity | null> {
  const ip = req.socket.remoteAddress ?? "";
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (bearer) {
    const found = await resolveApiTokenCredential(s.db, bearer);
    if (!found) return null;
    const { user, tokenId } = found;
    return {
      actor: { userId: user.id, email: user.email, isAdmin: user.isAdmin, via: "token", ip },
      credential: { kind: "token", id: tokenId },
    };
  }
  // Cookies ride along on cross-site WebSocket handshakes, so the Origin must be our own host.
  const origin = req.headers.origin;
  if (origin) {
    try {
      if (new URL(origin).host !== req.headers.host) return null;
    } catch {
      return null;
    }
  }
  const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const session = cookie ? await resolveSession(s.db, cookie) : null;
  if (!session) return null;
  const u = session.user;
  return {
    actor: { userId: u.id, email: u.email, isAdmin: u.isAdmin, via: "session", ip },
    credential: { kind: "session", id: session.id },
  };
}

/** A stable key of a credential, e.g. for sets. */
export function credentialKey(c: StreamCredential): string {
  return `${c.kind}:${c.id}`;
}

/** Keys (credentialKey) of the credentials among `creds` that are still live: not revoked, ended or expired. */
export async function liveCredentials(db: Db, creds: readonly StreamCredential[]): Promise<Set<string>> {
  const tokens = [...new Set(creds.filter((c) => c.kind === "token").map((c) => c.id))];
  const sessions = [...new Set(creds.filter((c) => c.kind === "session").map((c) => c.id))];
  const [liveTokens, liveSessions] = await Promise.all([
    tokens.length > 0 ? liveTokenIds(db, tokens) : new Set<string>(),
    sessions.length > 0 ? liveSessionIds(db, sessions) : new Set<string>(),
  ]);
  return new Set([
    ...[...liveTokens].map((id) => credentialKey({ kind: "token", id })),
    ...[...liveSessions].map((id) => credentialKey({ kind: "session", id })),
  ]);
}
