// Deploy settings of an app: rollout batch and web health check path (thin handlers over server/apps).
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { DeploySettingsChangeBody, DeploySettingsSchema } from "../schemas/deploy-settings.ts";
import { changeDeploySettings, getDeploySettings } from "../../apps/deploy-settings.ts";

const T = ["Apps"];
const get = apiRoute({
  method: "get",
  path: "/apps/{app}/deploy-settings",
  tags: T,
  summary: "Rollout batch and web health check path of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(DeploySettingsSchema, "Deploy settings") },
});
const change = apiRoute({
  method: "patch",
  path: "/apps/{app}/deploy-settings",
  tags: T,
  summary:
    "Change the rollout batch and web health check path; never builds or releases, the health check applies to " +
    "instances started afterwards (member and above)",
  request: { params: AppParam, body: jsonBody(DeploySettingsChangeBody) },
  responses: { 200: jsonResponse(DeploySettingsSchema, "The deploy settings after the change") },
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
