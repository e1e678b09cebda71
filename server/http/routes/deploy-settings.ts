// Deploy settings of an app: rollout batch and web health check path (thin handlers over server/apps).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import {
  changeDeploySettings,
  getDeploySettings,
  HEALTH_PATH_MESSAGE,
  isHealthPath,
  ROLLOUT_BATCH_MAX,
  ROLLOUT_BATCH_MESSAGE,
} from "../../apps/deploy-settings.ts";

const SettingsSchema = z
  .object({
    rolloutBatch: z.number().int().openapi({
      description: "New instances per process type starting at a time during rollouts and restarts; 0 = all at once",
    }),
    healthCheckPath: z.string().nullable().openapi({
      description: "Path web instances must answer with 2xx/3xx to count as started; null = TCP connect to PORT only",
    }),
  })
  .openapi("DeploySettings");

const ChangeBody = z
  .object({
    rolloutBatch: z
      .number({ message: ROLLOUT_BATCH_MESSAGE })
      .int({ message: ROLLOUT_BATCH_MESSAGE })
      .min(0, { message: ROLLOUT_BATCH_MESSAGE })
      .max(ROLLOUT_BATCH_MAX, { message: ROLLOUT_BATCH_MESSAGE })
      .optional(),
    healthCheckPath: z
      .string({ message: HEALTH_PATH_MESSAGE })
      .refine(isHealthPath, { message: HEALTH_PATH_MESSAGE })
      .nullable()
      .optional(),
  })
  .strict()
  .refine((u) => u.rolloutBatch !== undefined || u.healthCheckPath !== undefined, {
    message: "give at least one of rolloutBatch, healthCheckPath",
  })
  .openapi("DeploySettingsChange");

const T = ["Apps"];
const get = apiRoute({
  method: "get",
  path: "/apps/{app}/deploy-settings",
  tags: T,
  summary: "Rollout batch and web health check path of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(SettingsSchema, "Deploy settings") },
});
const change = apiRoute({
  method: "patch",
  path: "/apps/{app}/deploy-settings",
  tags: T,
  summary:
    "Change the rollout batch and web health check path; never builds or releases, the health check applies to " +
    "instances started afterwards (member and above)",
  request: { params: AppParam, body: jsonBody(ChangeBody) },
  responses: { 200: jsonResponse(SettingsSchema, "The deploy settings after the change") },
});

/** Routes under /api/v1 for an app's deploy settings. */
export const deploySettingsRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(get, async (c) =>
    c.json(await getDeploySettings(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(change, async (c) =>
    c.json(
      await changeDeploySettings(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")),
      200,
    ),
  );
