// Schemas of the platform status the instance admin sees (GET /admin/status).
import { z } from "@hono/zod-openapi";
import type { PlatformComponent, PlatformStatus } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";

export const ComponentStatusSchema = z.enum(["ok", "restarting", "degraded", "down"]);

export const PlatformComponentSchema = z
  .object({
    name: z.string(),
    status: ComponentStatusSchema,
    detail: z.string(),
    since: z.string(),
    restarts: z.number().int().nullable(),
    startedAt: z.string().nullable(),
    lastExit: z.object({ at: z.string(), code: z.number().int().nullable(), signal: z.string().nullable() }).nullable(),
  })
  .openapi("PlatformComponent");

export const PlatformStatusSchema = z
  .object({
    status: z.enum(["ok", "degraded", "down"]),
    checkedAt: z.string(),
    components: z.array(PlatformComponentSchema),
  })
  .openapi("PlatformStatus");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<PlatformComponent, typeof PlatformComponentSchema>>,
  Wire<Describes<PlatformStatus, typeof PlatformStatusSchema>>,
];
