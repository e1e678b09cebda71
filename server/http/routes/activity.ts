// The activity timeline of an app (thin handler over server/activity).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { ResourceId } from "../../validation/names.ts";
import { listActivity } from "../../activity/list.ts";

export const ActivityItemSchema = z
  .object({
    id: z.string(),
    action: z.string(),
    target: z.string(),
    actor: z.string().openapi({ description: 'Email of who did it, or "system"' }),
    at: z.string(),
    summary: z.string().openapi({ description: "A short sentence; never contains config values" }),
  })
  .openapi("ActivityItem");

const ActivityQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: ResourceId.optional().openapi({
    description: "Id of the last event already shown: continue with older ones",
  }),
});

const list = apiRoute({
  method: "get",
  path: "/apps/{app}/activity",
  tags: ["Apps"],
  summary: "The app's timeline of changes, newest first (viewer and up)",
  request: { params: AppParam, query: ActivityQuery },
  responses: { 200: jsonResponse(z.array(ActivityItemSchema), "Events") },
});

/** Routes under /api/v1 for the app activity timeline. */
export const activityRoutes = new OpenAPIHono<ApiEnv>().openapi(list, async (c) => {
  const q = c.req.valid("query");
  return c.json(await listActivity(c.get("services"), requireActor(c), c.req.valid("param").app, q), 200);
});
