// Schemas of instances, rollout status, rolling restarts, rollback and one-off runs.
import { z } from "@hono/zod-openapi";
import type { Instance, RestartResult, RolloutStatus } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ProcessType } from "../../validation/names.ts";

export const InstanceSchema = z
  .object({
    id: z.string(),
    processType: z.string(),
    state: z.string(),
    desired: z.string(),
    release: z.number().int(),
    node: z.object({ id: z.string(), name: z.string() }).nullable(),
    hostPort: z.number().int().nullable(),
    restarts: z.number().int(),
    exitCode: z.number().int().nullable(),
    reason: z.string().nullable(),
    startedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Instance");

export const RolloutSchema = z
  .object({
    release: z.object({ version: z.number().int(), status: z.string(), failReason: z.string().nullable() }).nullable(),
    deployed: z.number().int().nullable(),
    processes: z.array(
      z.object({
        type: z.string(),
        quantity: z.number().int(),
        running: z.number().int(),
        starting: z.number().int(),
        replacing: z.number().int(),
      }),
    ),
    old: z.number().int(),
    stopping: z.number().int(),
    failing: z.array(z.object({ instance: z.string(), processType: z.string(), reason: z.string() })),
    placementIssue: z.string().nullable(),
    nodeReady: z.boolean(),
    settled: z.boolean(),
  })
  .openapi("RolloutStatus");

export const RolloutQuery = z
  .object({ release: z.coerce.number().int().min(1).max(1_000_000_000).optional() })
  .strict();

export const RestartBody = z
  .object({
    target: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "a process type or instance id")
      .optional(),
  })
  .strict()
  .openapi("RestartRequest");
export const RollbackBody = z
  .object({ version: z.number().int().min(1).max(1_000_000_000).optional() })
  .strict()
  .openapi("RollbackRequest");

export const RunBody = z
  .object({
    command: z
      .array(
        z
          .string()
          .min(1)
          .max(64 * 1024)
          .refine((v) => !v.includes("\0"), "no NUL bytes"),
      )
      .min(1, "give a command")
      .max(256),
    timeoutSeconds: z.number().int().min(1).max(86_400).default(3600),
    /** Process type whose limits and requests the one-off gets. */
    type: ProcessType.optional(),
  })
  .strict()
  .openapi("RunRequest");

/** Answer of POST /apps/{app}/restart: how many instances are being replaced. */
export const RestartResultSchema = z.object({ restarting: z.number().int() });

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<Instance, typeof InstanceSchema>>,
  Wire<Describes<RolloutStatus, typeof RolloutSchema>>,
  Wire<Describes<RestartResult, typeof RestartResultSchema>>,
];
