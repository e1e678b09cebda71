// Schemas of a team's audit log.
import { z } from "@hono/zod-openapi";
import type { AuditEvent } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { AppName } from "../../validation/names.ts";

export const AuditEventSchema = z
  .object({
    id: z.string(),
    action: z.string(),
    target: z.string(),
    app: z.string().nullable(),
    actor: z.string(),
    ip: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi("AuditEvent");
export const AuditQuery = z.object({
  action: z
    .string()
    .regex(/^[a-z.]{1,40}$/)
    .optional(),
  app: AppName.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.iso.datetime().optional(),
});

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<AuditEvent, typeof AuditEventSchema>>;
