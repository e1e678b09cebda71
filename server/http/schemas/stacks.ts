// Schemas of the platform stacks and their rebuild job (instance admin).
import { z } from "@hono/zod-openapi";
import type { Stack, StackRebuild, Stacks } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";

export const StackSchema = z
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

export const StackRebuildSchema = z
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

export const StacksSchema = z
  .object({ stacks: z.array(StackSchema), rebuild: StackRebuildSchema.nullable() })
  .openapi("Stacks");

export const StackRebuildQuery = z
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

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<Stack, typeof StackSchema>>,
  Wire<Describes<StackRebuild, typeof StackRebuildSchema>>,
  Wire<Describes<Stacks, typeof StacksSchema>>,
];
