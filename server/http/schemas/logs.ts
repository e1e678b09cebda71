// Schemas of an app's log.
import { z } from "@hono/zod-openapi";
import type { LogEntry, Logs } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ProcessType } from "../../validation/names.ts";
import { MAX_READ_LINES } from "../../logs/read.ts";
import { LOG_SOURCES } from "../../logs/store.ts";

export const LogEntrySchema = z
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

export const LogsSchema = z.object({ entries: z.array(LogEntrySchema), lastSeq: z.number().int() }).openapi("Logs");

export const LogsQuery = z
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

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<LogEntry, typeof LogEntrySchema>>, Wire<Describes<Logs, typeof LogsSchema>>];
