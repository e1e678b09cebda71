// Platform stacks (instance admin): what is built, and `berth stacks:rebuild` as a background job to poll.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { StackRebuildQuery, StackRebuildSchema, StacksSchema } from "../schemas/stacks.ts";
import { rebuildStatus, stackOverview } from "../../builds/stacks/rebuild-job.ts";

const T = ["Stacks"];
const list = apiRoute({
  method: "get",
  path: "/stacks",
  tags: T,
  summary:
    "Platform stacks in the builder storage, with build date and image id, and the last rebuild (instance admin)",
  responses: { 200: jsonResponse(StacksSchema, "Stacks") },
});
const startRebuild = apiRoute({
  method: "post",
  path: "/stacks/rebuild",
  tags: T,
  summary: "Rebuild every stack from its recipe in the background (instance admin); 409 while one runs",
  responses: { 202: jsonResponse(StackRebuildSchema, "Started; poll GET /stacks/rebuild") },
});
const rebuild = apiRoute({
  method: "get",
  path: "/stacks/rebuild",
  tags: T,
  summary: "The running or last stack rebuild with its output (instance admin); 404 if none ran",
  request: { query: StackRebuildQuery },
  responses: { 200: jsonResponse(StackRebuildSchema, "Rebuild") },
});

/** Routes under /api/v1 for platform stacks. */
export const stackRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => c.json(await stackOverview(c.get("services"), requireActor(c)), 200))
  .openapi(startRebuild, (c) => {
    const s = c.get("services");
    const job = s.stacks.start(requireActor(c));
    return c.json(job, 202);
  })
  .openapi(rebuild, (c) =>
    c.json(rebuildStatus(c.get("services"), requireActor(c), c.req.valid("query").since ?? 0), 200),
  );
