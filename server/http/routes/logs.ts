// An app's logs (thin handler): GET /apps/{app}/logs with paging by seq and filters.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { LogsQuery, LogsSchema } from "../schemas/logs.ts";
import { readAppLogs } from "../../logs/read.ts";

const logs = apiRoute({
  method: "get",
  path: "/apps/{app}/logs",
  tags: ["Logs"],
  summary:
    "An app's log, oldest first: the newest `lines` entries, or with `after` the oldest `lines` entries after that seq; " +
    "`lastSeq` is the app's newest seq (resume a live stream from it)",
  request: { params: AppParam, query: LogsQuery },
  responses: { 200: jsonResponse(LogsSchema, "Log entries") },
});

/** Routes under /api/v1 for app logs. */
export const logRoutes = new OpenAPIHono<ApiEnv>().openapi(logs, async (c) => {
  const q = c.req.valid("query");
  return c.json(await readAppLogs(c.get("services"), requireActor(c), c.req.valid("param").app, q), 200);
});
