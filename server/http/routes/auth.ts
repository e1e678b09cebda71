// Sign-up, sign-in, sign-out and the current session (thin: parse -> domain -> respond).
import { OpenAPIHono } from "@hono/zod-openapi";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ApiContext, ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { LoginBody, SessionSchema, SignUpBody } from "../schemas/auth.ts";
import { signUp, toUserView } from "../../auth/accounts.ts";
import { checkCredentials } from "../../auth/login.ts";
import { SESSION_COOKIE, SESSION_TTL_MS, createSession, destroySession } from "../../auth/sessions.ts";
import { recordAudit } from "../../audit/record.ts";
import { errors } from "../../errors.ts";

function isHttps(c: ApiContext): boolean {
  return new URL(c.req.url).protocol === "https:" || c.get("services").config.publicUrl?.startsWith("https:") === true;
}

async function startSession(c: ApiContext, userId: string) {
  const { db } = c.get("services");
  const { token, session } = await createSession(db, userId, c.get("ip"), c.req.header("user-agent") ?? "");
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    secure: isHttps(c),
    path: "/",
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
  return session.csrfToken;
}

const signupRoute = apiRoute(
  {
    method: "post",
    path: "/auth/signup",
    tags: ["Auth"],
    summary: "Create an account (the first account becomes instance admin) and sign in",
    request: { body: jsonBody(SignUpBody) },
    responses: { 201: jsonResponse(SessionSchema, "Account created and signed in") },
  },
  { public: true },
);

const loginRoute = apiRoute(
  {
    method: "post",
    path: "/auth/login",
    tags: ["Auth"],
    summary: "Sign in with email and password (sets the session cookie)",
    request: { body: jsonBody(LoginBody) },
    responses: { 200: jsonResponse(SessionSchema, "Signed in") },
  },
  { public: true },
);

const logoutRoute = apiRoute(
  {
    method: "post",
    path: "/auth/logout",
    tags: ["Auth"],
    summary: "End the current browser session",
    responses: { 204: { description: "Signed out" } },
  },
  { public: true },
);

const sessionRoute = apiRoute({
  method: "get",
  path: "/session",
  tags: ["Auth"],
  summary: "The signed-in user and, for cookie sessions, the CSRF token to send as X-CSRF-Token",
  responses: { 200: jsonResponse(SessionSchema, "Current session") },
});

/** Routes under /api/v1 for authentication. */
export const authRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(signupRoute, async (c) => {
    const s = c.get("services");
    const body = c.req.valid("json");
    const { user } = await signUp(s, body, c.get("ip"));
    const csrfToken = await startSession(c, user.id);
    return c.json({ user: toUserView(user), csrfToken, via: "session" as const }, 201);
  })
  .openapi(loginRoute, async (c) => {
    const s = c.get("services");
    const { email, password } = c.req.valid("json");
    const user = await checkCredentials(s, email, password, c.get("ip"));
    const csrfToken = await startSession(c, user.id);
    await recordAudit(
      s.db,
      { userId: user.id, email: user.email, ip: c.get("ip") },
      { action: "user.login", target: user.email },
    );
    return c.json({ user: toUserView(user), csrfToken, via: "session" as const }, 200);
  })
  .openapi(logoutRoute, async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) await destroySession(c.get("services"), cookie);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.body(null, 204);
  })
  .openapi(sessionRoute, async (c) => {
    const actor = requireActor(c);
    const s = c.get("services");
    const user = await s.db.user.findUnique({ where: { id: actor.userId } });
    if (!user) throw errors.unauthorized();
    const sessionId = c.get("sessionId");
    const session = sessionId ? await s.db.session.findUnique({ where: { id: sessionId } }) : null;
    return c.json({ user: toUserView(user), csrfToken: session?.csrfToken ?? null, via: actor.via }, 200);
  });
