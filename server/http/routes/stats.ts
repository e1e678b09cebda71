// Recent resource usage of an app's instances (thin handler over server/stats).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { appStats } from "../../stats/query.ts";

const StatsPointSchema = z
  .object({
    at: z.string(),
    cpuPercent: z
      .number()
      .nullable()
      .openapi({ description: "Share of one core since the previous point; null first" }),
    memoryBytes: z.number().int(),
    memoryLimitBytes: z.number().int().openapi({ description: "0 = no limit" }),
    netRxBytes: z.number().int().openapi({ description: "Cumulative since the container started" }),
    netTxBytes: z.number().int(),
    blkReadBytes: z.number().int(),
    blkWriteBytes: z.number().int(),
    pids: z.number().int(),
  })
  .openapi("StatsPoint");

const AppStatsSchema = z
  .object({
    instances: z.array(
      z.object({ instanceId: z.string(), processType: z.string(), points: z.array(StatsPointSchema) }),
    ),
  })
  .openapi("AppStats");

const StatsQuery = z
  .object({ since: z.iso.datetime({ offset: true }).optional().openapi({ description: "Only points at or after" }) })
  .strict();

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
