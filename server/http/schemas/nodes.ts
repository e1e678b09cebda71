// HTTP schemas of the nodes API (join tokens, node list and detail).
import { z } from "@hono/zod-openapi";
import type {
  CreatedJoinToken,
  JoinToken,
  Node,
  NodeCordon,
  NodeDetail,
  RemovedNode,
} from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ResourceId, TeamName } from "../../validation/names.ts";

/** A join token as listed (never the secret). */
export const JoinTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    team: z.string().nullable(),
    /** The local agent's token (made by the control plane at start, never through the API). */
    local: z.boolean(),
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
    address: z.string().openapi({
      description:
        "Where the router reaches the node: addressOverride, else observedAddress (127.0.0.1 for the local agent)",
    }),
    observedAddress: z
      .string()
      .openapi({ description: "Remote address of the agent's connection as the control plane saw it" }),
    reportedAddress: z
      .string()
      .openapi({ description: "What the agent says its address is: information only, never routed to" }),
    addressOverride: z
      .string()
      .nullable()
      .openapi({ description: "Address set by the instance admin (nodes:address)" }),
    local: z
      .boolean()
      .openapi({ description: "The control plane's own local agent (the only node routed on loopback)" }),
    unroutable: z.string().nullable().openapi({
      description: "Why the router sends nothing to the node and no instance is placed on it; null when routable",
    }),
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

/** Body of PUT /nodes/{id}/address: an IPv4 address, or null to go back to the observed one. */
export const NodeAddressBody = z
  .object({ address: z.string().trim().min(1).max(64).nullable() })
  .strict()
  .openapi("NodeAddress");
/** Answer of DELETE /nodes/{id}. */
export const RemovedNodeSchema = z
  .object({ id: z.string(), name: z.string(), instances: z.number().int(), disconnected: z.boolean() })
  .openapi("RemovedNode");
/** Answer of cordon, uncordon and drain (`moving`: instances a drain moves). */
export const NodeCordonSchema = z
  .object({ id: z.string(), name: z.string(), cordoned: z.boolean(), moving: z.number().int().optional() })
  .openapi("NodeCordon");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<JoinToken, typeof JoinTokenSchema>>,
  Wire<Describes<CreatedJoinToken, typeof CreatedJoinTokenSchema>>,
  Wire<Describes<Node, typeof NodeSchema>>,
  Wire<Describes<NodeDetail, typeof NodeDetailSchema>>,
  Wire<Describes<NodeCordon, typeof NodeCordonSchema>>,
  Wire<Describes<RemovedNode, typeof RemovedNodeSchema>>,
];
