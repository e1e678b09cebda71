// The activity timeline of an app (thin handler over server/activity).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { ActivityItemSchema, ActivityQuery } from "../schemas/activity.ts";
import { listActivity } from "../../activity/list.ts";

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
