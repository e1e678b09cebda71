// Apps CRUD (thin handlers over server/apps).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppDetailSchema, AppListQuery, AppParam, AppSchema, CreateAppBody, UpdateAppBody } from "../schemas/apps.ts";
import { createApp, destroyApp, getApp, listApps, updateApp } from "../../apps/apps.ts";
import { personalTeamOf } from "../../teams/personal.ts";

const list = apiRoute({
  method: "get",
  path: "/apps",
  tags: ["Apps"],
  summary: "List apps of your teams (optionally one team)",
  request: { query: AppListQuery },
  responses: { 200: jsonResponse(z.array(AppSchema), "Apps") },
});
const create = apiRoute({
  method: "post",
  path: "/apps",
  tags: ["Apps"],
  summary: "Create an app (team admin or owner); without `team`, in your personal team",
  request: { body: jsonBody(CreateAppBody) },
  responses: { 201: jsonResponse(AppSchema, "Created") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}",
  tags: ["Apps"],
  summary: "Show an app with its formation",
  request: { params: AppParam },
  responses: { 200: jsonResponse(AppDetailSchema, "App") },
});
const update = apiRoute({
  method: "patch",
  path: "/apps/{app}",
  tags: ["Apps"],
  summary: "Change maintenance mode or transfer the app to another team (admin)",
  request: { params: AppParam, body: jsonBody(UpdateAppBody) },
  responses: { 200: jsonResponse(AppSchema, "Updated") },
});
const destroy = apiRoute({
  method: "delete",
  path: "/apps/{app}",
  tags: ["Apps"],
  summary: "Destroy an app (admin)",
  request: { params: AppParam },
  responses: { 204: { description: "Destroyed" } },
});

/** Routes under /api/v1 for apps. */
export const appRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => {
    const actor = requireActor(c);
    return c.json(await listApps(c.get("services"), actor, c.req.valid("query").team), 200);
  })
  .openapi(create, async (c) => {
    const actor = requireActor(c);
    const s = c.get("services");
    const body = c.req.valid("json");
    const team = body.team ?? (await personalTeamOf(s, actor));
    return c.json(await createApp(s, actor, body.name, team), 201);
  })
  .openapi(info, async (c) => {
    const actor = requireActor(c);
    return c.json(await getApp(c.get("services"), actor, c.req.valid("param").app), 200);
  })
  .openapi(update, async (c) => {
    const actor = requireActor(c);
    return c.json(await updateApp(c.get("services"), actor, c.req.valid("param").app, c.req.valid("json")), 200);
  })
  .openapi(destroy, async (c) => {
    const actor = requireActor(c);
    await destroyApp(c.get("services"), actor, c.req.valid("param").app);
    return c.body(null, 204);
  });
