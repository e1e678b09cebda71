// HTTP schemas of the nodes API (join tokens, node list and detail).
import { z } from "@hono/zod-openapi";
import { ResourceId, TeamName } from "../validation/names.ts";

/** A join token as listed (never the secret). */
export const JoinTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    team: z.string().nullable(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("NodeJoinToken");
/** A join token right after creation, with its secret. */
export const CreatedJoinTokenSchema = JoinTokenSchema.extend({ token: z.string() }).openapi("CreatedNodeJoinToken");
/** Body of POST /nodes/join-tokens: without `team`, a shared token (instance admin only). */
export const CreateJoinTokenBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .regex(/^[\w .@:-]+$/, { message: "token names use letters, digits, spaces and . _ - @ :" }),
    team: TeamName.optional(),
    expiresInDays: z.int().min(1).max(3650).optional(),
  })
  .strict()
  .openapi("CreateNodeJoinToken");
/** Query of GET /nodes/join-tokens. */
export const JoinTokenListQuery = z.object({ team: TeamName.optional() });
/** Path param `{id}`. */
export const IdParam = z.object({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });

/** A node as listed. */
export const NodeSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    cpus: z.number(),
    memoryMb: z.number(),
    diskMb: z.number(),
    kernel: z.string(),
    cgroup: z.string(),
    userNamespaces: z.boolean().nullable().openapi({
      description: "Containers run in user namespaces on this node (container root is an unprivileged host id)",
    }),
    version: z.string(),
    state: z.string(),
    cordoned: z.boolean(),
    team: z.string().nullable(),
    lastSeenAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Node");
/** A node with the instances it reports. */
export const NodeDetailSchema = NodeSchema.extend({
  instances: z.array(
    z.object({
      id: z.string(),
      processType: z.string(),
      state: z.string(),
      hostPort: z.number().nullable(),
      exitCode: z.number().nullable(),
      reason: z.string(),
      restarts: z.number(),
      updatedAt: z.string(),
    }),
  ),
}).openapi("NodeDetail");
