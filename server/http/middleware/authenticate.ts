// Resolves the caller from `Authorization: Bearer` (API token) or the session cookie; enforces CSRF for cookies.
import { getCookie } from "hono/cookie";
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../env.ts";
import { BerthError, errors } from "../../errors.ts";
import { resolveApiToken } from "../../tokens/api-tokens.ts";
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, resolveSession } from "../../auth/sessions.ts";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True if the request's Origin (when sent) is this server's own origin. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true; // non-browser clients do not send Origin
  if (!host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Sets `actor` (or null) and rejects cross-site or token-less cookie mutations. */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const { db } = c.get("services");
  const ip = c.get("ip");
  const mutating = !SAFE_METHODS.has(c.req.method);
  if (mutating && !sameOrigin(c.req.header("origin"), c.req.header("host"))) {
    throw errors.forbidden("cross-origin request refused");
  }
  const authz = c.req.header("authorization");
  if (authz !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(authz);
    const user = m?.[1] ? await resolveApiToken(db, m[1]) : null;
    if (!user) throw errors.unauthorized("invalid, expired or revoked token");
    c.set("actor", { userId: user.id, email: user.email, isAdmin: user.isAdmin, via: "token", ip });
    c.set("sessionId", null);
    return next();
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  const session = cookie ? await resolveSession(db, cookie) : null;
  if (session) {
    if (mutating && !csrfMatches(session.csrfToken, c.req.header(CSRF_HEADER))) {
      throw new BerthError("csrf_failed", "missing or invalid CSRF token");
    }
    const u = session.user;
    c.set("actor", { userId: u.id, email: u.email, isAdmin: u.isAdmin, via: "session", ip });
    c.set("sessionId", session.id);
  } else {
    c.set("actor", null);
    c.set("sessionId", null);
  }
  return next();
};
