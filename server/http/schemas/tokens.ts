// Schemas of the user's API tokens.
import { z } from "@hono/zod-openapi";
import type { ApiToken, CreatedApiToken } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ResourceId } from "../../validation/names.ts";

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("ApiToken");
export const CreatedTokenSchema = TokenSchema.extend({ token: z.string() }).openapi("CreatedApiToken");
export const CreateTokenBody = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(60)
      .regex(/^[\w .@:-]+$/, { message: "token names use letters, digits, spaces and . _ - @ :" }),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .openapi("CreateApiToken");
export const TokenParam = z.object({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<ApiToken, typeof TokenSchema>>,
  Wire<Describes<CreatedApiToken, typeof CreatedTokenSchema>>,
];
