// Recent resource usage of an app's instances (thin handler over server/stats).
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { AppStatsSchema, StatsQuery } from "../schemas/stats.ts";
import { appStats } from "../../stats/query.ts";

const get = apiRoute({
  method: "get",
  path: "/apps/{app}/stats",
  tags: ["Stats"],
  summary: "CPU, memory, network and pids of the app's instances over the last hour (one point per agent interval)",
  request: { params: AppParam, query: StatsQuery },
  responses: { 200: jsonResponse(AppStatsSchema, "Instances with their points, oldest first") },
});

/** Routes under /api/v1 for resource stats. */
export const statsRoutes = new OpenAPIHono<ApiEnv>().openapi(get, async (c) => {
  const { since } = c.req.valid("query");
  const body = await appStats(
    c.get("services"),
    requireActor(c),
    c.req.valid("param").app,
    since ? new Date(since) : undefined,
  );
  return c.json(body, 200);
});
