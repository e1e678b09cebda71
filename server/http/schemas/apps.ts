// Schemas of apps: list, detail with formation, create, update; the `{app}` path param every app route uses.
import { z } from "@hono/zod-openapi";
import type { App, AppDetail } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { AppName, TeamName } from "../../validation/names.ts";

export const AppSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    team: z.string(),
    maintenance: z.boolean(),
    webUrl: z.string(),
    gitUrl: z.string(),
    currentRelease: z.number().int().nullable(),
    /** Live: a newer release rolling out, an instance crashed, instances running, or nothing running. */
    status: z.enum(["deploying", "crashed", "running", "idle"]),
    instances: z.object({ running: z.number().int(), total: z.number().int() }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("App");

export const AppDetailSchema = AppSchema.extend({
  role: z.string(),
  formation: z.array(
    z.object({
      type: z.string(),
      quantity: z.number().int(),
      memoryMb: z.number().int(),
      cpu: z.number(),
      diskMb: z.number().int(),
      bandwidthMbit: z.number().int(),
      memoryRequestMb: z.number().int(),
      cpuRequest: z.number(),
    }),
  ),
}).openapi("AppDetail");

export const CreateAppBody = z.object({ name: AppName, team: TeamName.optional() }).strict().openapi("CreateApp");
export const UpdateAppBody = z
  .object({ maintenance: z.boolean().optional(), team: TeamName.optional() })
  .strict()
  .openapi("UpdateApp");
export const AppParam = z.object({ app: AppName.openapi({ param: { name: "app", in: "path" } }) });
export const AppListQuery = z.object({ team: TeamName.optional() });

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<App, typeof AppSchema>>, Wire<Describes<AppDetail, typeof AppDetailSchema>>];
