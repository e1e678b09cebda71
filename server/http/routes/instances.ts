// Instances (`berth ps`), rolling restarts and rollback (thin handlers over server/instances and server/releases).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { ReleaseSchema } from "../schemas/releases.ts";
import {
  InstanceSchema,
  RestartBody,
  RestartResultSchema,
  RollbackBody,
  RolloutQuery,
  RolloutSchema,
  RunBody,
} from "../schemas/instances.ts";
import { listInstances, restartInstances } from "../../instances/instances.ts";
import { followOneOff, startOneOff } from "../../instances/one-off.ts";
import { rollback } from "../../releases/rollback.ts";
import { rolloutStatus } from "../../scheduler/rollout-status.ts";

const T = ["Instances"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/instances",
  tags: T,
  summary: "The app's instances: state, node, release, restarts, last exit code and reason",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(InstanceSchema), "Instances") },
});
const rollout = apiRoute({
  method: "get",
  path: "/apps/{app}/rollout",
  tags: T,
  summary:
    "Where the app's rollout stands (poll it to follow one): the release (`release=N`, else the one rolling out, else " +
    "the deployed one), per process type its running/starting/replacing instances, failing instances, placement " +
    "problem, and `settled` once the release is deployed and the formation runs with nothing left to replace",
  request: { params: AppParam, query: RolloutQuery },
  responses: { 200: jsonResponse(RolloutSchema, "Rollout status") },
});
const restart = apiRoute({
  method: "post",
  path: "/apps/{app}/restart",
  tags: T,
  summary: "Rolling restart of all instances, one process type, or one instance (member and above)",
  request: { params: AppParam, body: jsonBody(RestartBody) },
  responses: { 202: jsonResponse(RestartResultSchema, "Replacing instances") },
});
const back = apiRoute({
  method: "post",
  path: "/apps/{app}/releases/rollback",
  tags: ["Releases"],
  summary: "New release from an earlier one's image and config (default: the one before the deployed release)",
  request: { params: AppParam, body: jsonBody(RollbackBody) },
  responses: { 201: jsonResponse(ReleaseSchema, "The new release; it rolls out like any other") },
});

const run = apiRoute({
  method: "post",
  path: "/apps/{app}/run",
  tags: T,
  summary:
    "One-off container of the deployed release (image + config) running a command once (member and up). The answer " +
    "streams NDJSON: {type:started}, {type:output,stream,text}..., then {type:exit,code,reason?}; it is removed afterwards",
  request: { params: AppParam, body: jsonBody(RunBody) },
  responses: {
    200: { description: "NDJSON event stream", content: { "application/x-ndjson": { schema: z.string() } } },
  },
});

/** Routes under /api/v1 for instances and rollback. */
export const instanceRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listInstances(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(rollout, async (c) =>
    c.json(
      await rolloutStatus(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("query").release),
      200,
    ),
  )
  .openapi(restart, async (c) =>
    c.json(
      await restartInstances(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json").target),
      202,
    ),
  )
  .openapi(run, async (c) => {
    const s = c.get("services");
    const body = c.req.valid("json");
    const started = await startOneOff(s, requireActor(c), c.req.valid("param").app, body.command, body.type);
    const abort = new AbortController();
    const events = followOneOff(s, started, abort.signal, body.timeoutSeconds * 1000);
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await events.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(`${JSON.stringify(next.value)}\n`));
      },
      async cancel() {
        // The client went away: stop following; the generator's cleanup stops and removes the container.
        abort.abort();
        await events.return(undefined);
      },
    });
    return c.body(stream, 200, { "content-type": "application/x-ndjson", "cache-control": "no-store" }) as never;
  })
  .openapi(back, async (c) =>
    c.json(
      await rollback(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json").version),
      201,
    ),
  );
