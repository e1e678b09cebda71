// API tokens, invitation acceptance and the audit log (thin handlers).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { CreateTokenBody, CreatedTokenSchema, TokenParam, TokenSchema } from "../schemas/tokens.ts";
import { createApiToken, listApiTokens, revokeApiToken } from "../../tokens/api-tokens.ts";

const T = ["Tokens"];
const list = apiRoute({
  method: "get",
  path: "/tokens",
  tags: T,
  summary: "Your API tokens",
  responses: { 200: jsonResponse(z.array(TokenSchema), "Tokens") },
});
const create = apiRoute({
  method: "post",
  path: "/tokens",
  tags: T,
  summary: "Create an API token; the secret is in the response only",
  request: { body: jsonBody(CreateTokenBody) },
  responses: { 201: jsonResponse(CreatedTokenSchema, "Created") },
});
const revoke = apiRoute({
  method: "delete",
  path: "/tokens/{id}",
  tags: T,
  summary: "Revoke a token (takes effect immediately)",
  request: { params: TokenParam },
  responses: { 200: jsonResponse(TokenSchema, "Revoked") },
});

/** Routes under /api/v1 for API tokens. */
export const tokenRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => c.json(await listApiTokens(c.get("services"), requireActor(c)), 200))
  .openapi(create, async (c) => {
    const { name, expiresInDays } = c.req.valid("json");
    return c.json(await createApiToken(c.get("services"), requireActor(c), name, expiresInDays), 201);
  })
  .openapi(revoke, async (c) =>
    c.json(await revokeApiToken(c.get("services"), requireActor(c), c.req.valid("param").id), 200),
  );
