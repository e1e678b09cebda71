// Schemas of an app's activity timeline.
import { z } from "@hono/zod-openapi";
import type { ActivityItem } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ResourceId } from "../../validation/names.ts";

export const ActivityItemSchema = z
  .object({
    id: z.string(),
    action: z.string(),
    target: z.string(),
    actor: z.string().openapi({ description: 'Email of who did it, or "system"' }),
    at: z.string(),
    summary: z.string().openapi({ description: "A short sentence; never contains config values" }),
  })
  .openapi("ActivityItem");

export const ActivityQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: ResourceId.optional().openapi({
    description: "Id of the last event already shown: continue with older ones",
  }),
});

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<ActivityItem, typeof ActivityItemSchema>>;
