// App config vars (thin handlers over server/config-vars).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { ConfigChangeBody, ConfigChangeResultSchema, ConfigVarSchema } from "../schemas/config.ts";
import { changeConfig, listConfig } from "../../config-vars/config-vars.ts";

const T = ["Config"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/config",
  tags: T,
  summary: "Config vars (secret-looking values masked for viewers)",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(ConfigVarSchema), "Config vars") },
});
const change = apiRoute({
  method: "patch",
  path: "/apps/{app}/config",
  tags: T,
  summary: "Set and unset config vars in one change; a released app gets a new release (member and above)",
  request: { params: AppParam, body: jsonBody(ConfigChangeBody) },
  responses: {
    200: jsonResponse(ConfigChangeResultSchema, "Changed"),
  },
});

/** Routes under /api/v1 for config vars. */
export const configRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listConfig(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(change, async (c) =>
    c.json(await changeConfig(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")), 200),
  );
