// An app's logs (thin handler): GET /apps/{app}/logs with paging by seq and filters.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { ProcessType } from "../../validation/names.ts";
import { MAX_READ_LINES, readAppLogs } from "../../logs/read.ts";
import { LOG_SOURCES } from "../../logs/store.ts";

const LogEntrySchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    stream: z.enum(["stdout", "stderr"]),
    source: z.enum(LOG_SOURCES),
    processType: z.string().optional(),
    instance: z.string().optional(),
    release: z.string().optional(),
    text: z.string(),
  })
  .openapi("LogEntry");

const LogsSchema = z.object({ entries: z.array(LogEntrySchema), lastSeq: z.number().int() }).openapi("Logs");

const LogsQuery = z
  .object({
    lines: z.coerce.number().int().min(1).max(MAX_READ_LINES).default(100),
    after: z.coerce.number().int().min(0).optional(),
    processType: ProcessType.optional(),
    instance: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: "invalid instance id" })
      .optional(),
    source: z.enum(LOG_SOURCES).optional(),
  })
  .strict();

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
