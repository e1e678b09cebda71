// The team audit log (admins and owners).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AuditEventSchema, AuditQuery } from "../schemas/audit.ts";
import { TeamParam } from "../schemas/teams.ts";
import { listAuditEvents } from "../../audit/list.ts";

const list = apiRoute({
  method: "get",
  path: "/teams/{team}/audit",
  tags: ["Audit"],
  summary: "Audit events of a team, newest first (admin); filter by action prefix, app, time",
  request: { params: TeamParam, query: AuditQuery },
  responses: { 200: jsonResponse(z.array(AuditEventSchema), "Events") },
});

/** Routes under /api/v1 for audit events. */
export const auditRoutes = new OpenAPIHono<ApiEnv>().openapi(list, async (c) => {
  const q = c.req.valid("query");
  const events = await listAuditEvents(c.get("services"), requireActor(c), {
    team: c.req.valid("param").team,
    action: q.action,
    app: q.app,
    limit: q.limit,
    before: q.before ? new Date(q.before) : undefined,
  });
  return c.json(events, 200);
});
