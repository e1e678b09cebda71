// Process formation: quantity and limits per process type (thin handlers over server/formation).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { FormationChangeBody, FormationSchema } from "../schemas/formation.ts";
import { changeFormation, getFormation } from "../../formation/formation.ts";

const T = ["Formation"];
const get = apiRoute({
  method: "get",
  path: "/apps/{app}/formation",
  tags: T,
  summary: "Process types with their quantity, limits (memory MB, CPU, disk, bandwidth) and requests (memory, CPU)",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(FormationSchema), "Formation") },
});
const change = apiRoute({
  method: "patch",
  path: "/apps/{app}/formation",
  tags: T,
  summary: "Scale and resize process types in one atomic change; never builds or releases (member and above)",
  request: { params: AppParam, body: jsonBody(FormationChangeBody) },
  responses: { 200: jsonResponse(z.array(FormationSchema), "The whole formation after the change") },
});

/** Routes under /api/v1 for the process formation. */
export const formationRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(get, async (c) =>
    c.json(await getFormation(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(change, async (c) =>
    c.json(
      await changeFormation(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json").updates),
      200,
    ),
  );
