// The /api/v1 application: request ids, limits, authentication, routes, errors, OpenAPI document.
import crypto from "node:crypto";
import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { bodyLimit } from "hono/body-limit";
import type { Services } from "../context.ts";
import { BerthError, errors, toErrorResponse } from "../errors.ts";
import type { ApiEnv } from "./env.ts";
import { authenticate } from "./middleware/authenticate.ts";
import { authRoutes } from "./routes/auth.ts";
import { appRoutes } from "./routes/apps.ts";
import { teamRoutes } from "./routes/teams.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { invitationRoutes } from "./routes/invitations.ts";
import { auditRoutes } from "./routes/audit.ts";
import { releaseRoutes } from "./routes/releases.ts";
import { nodeRoutes } from "./routes/nodes.ts";
import { configRoutes } from "./routes/config.ts";
import { formationRoutes } from "./routes/formation.ts";
import { deploySettingsRoutes } from "./routes/deploy-settings.ts";
import { instanceRoutes } from "./routes/instances.ts";
import { domainRoutes } from "./routes/domains.ts";
import { volumeRoutes } from "./routes/volumes.ts";
import { addonRoutes } from "./routes/addons.ts";
import { addonBackupRoutes } from "./routes/addon-backups.ts";
import { volumeBackupRoutes } from "./routes/volume-backups.ts";
import { logRoutes } from "./routes/logs.ts";
import { statsRoutes } from "./routes/stats.ts";
import { stackRoutes } from "./routes/stacks.ts";
import { activityRoutes } from "./routes/activity.ts";
import { adminStatusRoutes } from "./routes/admin-status.ts";

export const API_BASE = "/api/v1";
/** Largest accepted request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Routes reachable without signing in. */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(
  ["/openapi.json", "/auth/signup", "/auth/login", "/auth/logout", "/invitations/lookup"].map((p) => API_BASE + p),
);

const JSON_TYPE = /^application\/(?:[a-z.+-]+\+)?json(?:;|$)/i;

/** Builds the API app bound to the control plane's services. */
export function createApi(services: Services) {
  const api = new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const first = result.error.issues[0];
        const where = first?.path.length ? `${first.path.join(".")}: ` : "";
        throw errors.validation(`${where}${first?.message ?? "invalid input"}`);
      }
    },
  }).basePath(API_BASE);

  api.use("*", async (c, next) => {
    c.set("services", services);
    c.set("requestId", c.req.header("x-request-id")?.slice(0, 64) || crypto.randomUUID());
    c.set("ip", c.env?.incoming?.socket.remoteAddress ?? "");
    c.header("X-Request-Id", c.get("requestId"));
    await next();
  });
  api.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new BerthError("payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );
  api.use("*", async (c, next) => {
    const hasBody = Number(c.req.header("content-length") ?? 0) > 0 || c.req.header("transfer-encoding") !== undefined;
    if (hasBody && !["GET", "HEAD"].includes(c.req.method) && !JSON_TYPE.test(c.req.header("content-type") ?? "")) {
      throw errors.badRequest("request bodies must be JSON (Content-Type: application/json)");
    }
    await next();
  });
  api.use("*", async (c, next) => (c.req.path === `${API_BASE}/openapi.json` ? next() : authenticate(c, next)));
  // Authentication comes before validation, so anonymous callers learn nothing but "401".
  api.use("*", async (c, next) => {
    if (!c.get("actor") && !PUBLIC_PATHS.has(c.req.path)) throw errors.unauthorized();
    await next();
  });

  api.route("/", authRoutes);
  api.route("/", appRoutes);
  api.route("/", teamRoutes);
  api.route("/", tokenRoutes);
  api.route("/", invitationRoutes);
  api.route("/", auditRoutes);
  api.route("/", releaseRoutes);
  api.route("/", nodeRoutes);
  api.route("/", configRoutes);
  api.route("/", formationRoutes);
  api.route("/", deploySettingsRoutes);
  api.route("/", instanceRoutes);
  api.route("/", domainRoutes);
  api.route("/", volumeRoutes);
  api.route("/", addonRoutes);
  api.route("/", addonBackupRoutes);
  api.route("/", volumeBackupRoutes);
  api.route("/", logRoutes);
  api.route("/", statsRoutes);
  api.route("/", stackRoutes);
  api.route("/", activityRoutes);
  api.route("/", adminStatusRoutes);

  api.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API token (`berth tokens:create`)",
  });
  api.openAPIRegistry.registerComponent("securitySchemes", "session", {
    type: "apiKey",
    in: "cookie",
    name: "berth_session",
    description: "Dashboard session; mutations also need the X-CSRF-Token header from GET /api/v1/session",
  });
  api.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Berth API",
      version: "1",
      description:
        'Errors are {"error":{"code","message"}}. Another team\'s resource answers 404. WebSocket streams: see docs/api.md.',
    },
  });

  api.notFound((c) =>
    c.json({ error: { code: "not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  api.onError((err, c) => {
    let e: unknown = err;
    if (err instanceof HTTPException) {
      e = new BerthError(err.status === 413 ? "payload_too_large" : "bad_request", err.message || "malformed request", {
        cause: err,
      });
    }
    const { status, body, unexpected } = toErrorResponse(e);
    // The rest of an oversized body is never read, so this connection cannot carry another request: say so,
    // or keep-alive clients reuse it and their next request fails with "other side closed".
    if (status === 413) c.header("Connection", "close");
    if (unexpected)
      services.log.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unexpected API error");
    return c.json(body, status as 500);
  });
  return api;
}
