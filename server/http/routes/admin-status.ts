// GET /admin/status (instance admin): platform components with detailed sentences, restarts and last exits. The
// unauthenticated /healthz carries the same statuses without the details.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { PlatformStatusSchema } from "../schemas/admin-status.ts";
import { errors } from "../../errors.ts";
import { adminView } from "../../health/platform-health.ts";

const status = apiRoute({
  method: "get",
  path: "/admin/status",
  tags: ["Admin"],
  summary:
    "Platform components (database, registry, router, local agent, nodes, disk) with details, restarts and last exits (instance admin)",
  responses: { 200: jsonResponse(PlatformStatusSchema, "Platform status") },
});

/** Routes under /api/v1 for the instance admin's platform view. */
export const adminStatusRoutes = new OpenAPIHono<ApiEnv>().openapi(status, async (c) => {
  // Like the stacks routes: 403 for everyone but the instance admin (the route's existence is no secret).
  if (!requireActor(c).isAdmin) throw errors.forbidden("only the instance admin sees the platform status");
  return c.json(adminView(await c.get("services").health.report()), 200);
});
