// Platform stacks (instance admin): what is built, and `berth stacks:rebuild` as a background job to poll.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { rebuildStatus, stackOverview } from "../../builds/stacks/rebuild-job.ts";

const StackSchema = z
  .object({
    name: z.enum(["node", "static"]),
    image: z.string().nullable(),
    hash: z.string().nullable(),
    built: z.boolean(),
    builtAt: z.string().nullable(),
    id: z.string().nullable(),
    description: z.string().nullable(),
    nodeVersion: z.string().nullable(),
    cached: z.boolean(),
    problem: z.string().nullable(),
  })
  .openapi("Stack");

const StackRebuildSchema = z
  .object({
    id: z.string(),
    status: z.enum(["running", "succeeded", "failed"]),
    startedBy: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    error: z.string().nullable(),
    stacks: z.array(z.string()),
    outputStart: z.number().int(),
    output: z.array(z.string()),
  })
  .openapi("StackRebuild");

const StacksSchema = z
  .object({ stacks: z.array(StackSchema), rebuild: StackRebuildSchema.nullable() })
  .openapi("Stacks");

const RebuildQuery = z
  .object({
    since: z.coerce
      .number()
      .int()
      .min(0)
      .optional()
      .openapi({
        param: { name: "since", in: "query" },
        description: "first output line to return (outputStart + lines seen)",
      }),
  })
  .strict();

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
  request: { query: RebuildQuery },
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
