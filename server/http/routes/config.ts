// App config vars (thin handlers over server/config-vars).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { EnvKey } from "../../validation/names.ts";
import { changeConfig, listConfig } from "../../config-vars/config-vars.ts";

const ConfigVarSchema = z
  .object({ key: z.string(), value: z.string(), masked: z.boolean(), buildTime: z.boolean() })
  .openapi("ConfigVar");
const Value = z
  .string()
  .max(32 * 1024, { message: "config values are at most 32 KiB" })
  .refine((v) => !v.includes("\u0000"), { message: "config values cannot contain NUL" });
// zod drops a `__proto__` key from records without a word; the raw body is checked first so it gets EnvKey's error.
const SetVars = z.preprocess((raw, ctx) => {
  if (raw !== null && typeof raw === "object" && Object.hasOwn(raw, "__proto__")) {
    ctx.addIssue({ code: "custom", message: "__proto__ cannot be used as a config var name", input: raw });
  }
  return raw;
}, z.record(EnvKey, Value));
const ChangeBody = z
  .object({
    set: SetVars.default({}),
    unset: z.array(EnvKey).max(200).default([]),
    buildTime: z.array(EnvKey).max(200).default([]),
    runtimeOnly: z.array(EnvKey).max(200).default([]),
  })
  .strict()
  .openapi("ConfigChange");

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
  request: { params: AppParam, body: jsonBody(ChangeBody) },
  responses: {
    200: jsonResponse(z.object({ config: z.array(ConfigVarSchema), release: z.number().int().nullable() }), "Changed"),
  },
});

/** Routes under /api/v1 for config vars. */
export const configRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => c.json(await listConfig(c.get("services"), requireActor(c), c.req.valid("param").app), 200))
  .openapi(change, async (c) =>
    c.json(await changeConfig(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")), 200),
  );
