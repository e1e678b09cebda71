// Schemas of an app's recent resource usage.
import { z } from "@hono/zod-openapi";
import type { AppStats, StatsPoint } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";

export const StatsPointSchema = z
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

export const AppStatsSchema = z
  .object({
    instances: z.array(
      z.object({ instanceId: z.string(), processType: z.string(), points: z.array(StatsPointSchema) }),
    ),
  })
  .openapi("AppStats");

export const StatsQuery = z
  .object({ since: z.iso.datetime({ offset: true }).optional().openapi({ description: "Only points at or after" }) })
  .strict();

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<StatsPoint, typeof StatsPointSchema>>, Wire<Describes<AppStats, typeof AppStatsSchema>>];
