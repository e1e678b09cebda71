// Nodes and node join tokens (thin handlers over server/nodes).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import {
  CreatedJoinTokenSchema,
  CreateJoinTokenBody,
  IdParam,
  JoinTokenListQuery,
  JoinTokenSchema,
  NodeAddressBody,
  NodeCordonSchema,
  NodeDetailSchema,
  NodeSchema,
  RemovedNodeSchema,
} from "../schemas/nodes.ts";
import { createJoinToken, listJoinTokens, revokeJoinToken } from "../../nodes/join-tokens.ts";
import { getNode, listNodes, removeNode, setNodeAddress } from "../../nodes/node-registry.ts";
import { drainNode, setCordon } from "../../nodes/cordon.ts";

const T = ["Nodes"];
const listTokens = apiRoute({
  method: "get",
  path: "/nodes/join-tokens",
  tags: T,
  summary: "Join tokens of a team you administer, or all (instance admin)",
  request: { query: JoinTokenListQuery },
  responses: { 200: jsonResponse(z.array(JoinTokenSchema), "Join tokens") },
});
const createToken = apiRoute({
  method: "post",
  path: "/nodes/join-tokens",
  tags: T,
  summary:
    "Create a node join token for a team (team owner or admin) or a shared one (instance admin); secret shown once",
  request: { body: jsonBody(CreateJoinTokenBody) },
  responses: { 201: jsonResponse(CreatedJoinTokenSchema, "Created") },
});
const revokeToken = apiRoute({
  method: "delete",
  path: "/nodes/join-tokens/{id}",
  tags: T,
  summary: "Revoke a join token: agents connected with it are disconnected at once and new connections are refused",
  request: { params: IdParam },
  responses: { 200: jsonResponse(JoinTokenSchema, "Revoked") },
});
const list = apiRoute({
  method: "get",
  path: "/nodes",
  tags: T,
  summary: "Nodes you may see (instance admin: all; team admins: their teams')",
  responses: { 200: jsonResponse(z.array(NodeSchema), "Nodes") },
});
const info = apiRoute({
  method: "get",
  path: "/nodes/{id}",
  tags: T,
  summary: "One node with its instances",
  request: { params: IdParam },
  responses: { 200: jsonResponse(NodeDetailSchema, "Node") },
});

const cordon = apiRoute({
  method: "post",
  path: "/nodes/{id}/cordon",
  tags: T,
  summary: "Stop placing new instances on the node (node admins)",
  request: { params: IdParam },
  responses: { 200: jsonResponse(NodeCordonSchema, "Cordoned") },
});
const uncordon = apiRoute({
  method: "post",
  path: "/nodes/{id}/uncordon",
  tags: T,
  summary: "Place new instances on the node again (node admins)",
  request: { params: IdParam },
  responses: { 200: jsonResponse(NodeCordonSchema, "Uncordoned") },
});
const drain = apiRoute({
  method: "post",
  path: "/nodes/{id}/drain",
  tags: T,
  summary: "Cordon the node and move its instances to other nodes, each stopped once its replacement is healthy",
  request: { params: IdParam },
  responses: { 200: jsonResponse(NodeCordonSchema, "Draining") },
});
const remove = apiRoute({
  method: "delete",
  path: "/nodes/{id}",
  tags: T,
  summary:
    "Remove a node (node admins): its agent is disconnected, its instances are started elsewhere; revoke its join token too to keep it out",
  request: { params: IdParam },
  responses: { 200: jsonResponse(RemovedNodeSchema, "Removed") },
});
const setAddress = apiRoute({
  method: "put",
  path: "/nodes/{id}/address",
  tags: T,
  summary:
    "Set the address the router uses for a node instead of the one its agent connects from (instance admin; null clears it)",
  request: { params: IdParam, body: jsonBody(NodeAddressBody) },
  responses: { 200: jsonResponse(NodeSchema, "Node") },
});

/** Routes under /api/v1 for nodes. */
export const nodeRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(listTokens, async (c) =>
    c.json(await listJoinTokens(c.get("services"), requireActor(c), c.req.valid("query").team), 200),
  )
  .openapi(createToken, async (c) =>
    c.json(await createJoinToken(c.get("services"), requireActor(c), c.req.valid("json")), 201),
  )
  .openapi(revokeToken, async (c) =>
    c.json(await revokeJoinToken(c.get("services"), requireActor(c), c.req.valid("param").id), 200),
  )
  .openapi(list, async (c) => c.json(await listNodes(c.get("services"), requireActor(c)), 200))
  .openapi(info, async (c) => c.json(await getNode(c.get("services"), requireActor(c), c.req.valid("param").id), 200))
  .openapi(cordon, async (c) =>
    c.json(await setCordon(c.get("services"), requireActor(c), c.req.valid("param").id, true), 200),
  )
  .openapi(uncordon, async (c) =>
    c.json(await setCordon(c.get("services"), requireActor(c), c.req.valid("param").id, false), 200),
  )
  .openapi(drain, async (c) =>
    c.json(await drainNode(c.get("services"), requireActor(c), c.req.valid("param").id), 200),
  )
  .openapi(remove, async (c) =>
    c.json(await removeNode(c.get("services"), requireActor(c), c.req.valid("param").id), 200),
  )
  .openapi(setAddress, async (c) =>
    c.json(
      await setNodeAddress(c.get("services"), requireActor(c), c.req.valid("param").id, c.req.valid("json").address),
      200,
    ),
  );
