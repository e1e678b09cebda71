// The error body every API error answers with (server/errors.ts makes it).
import { z } from "@hono/zod-openapi";
import type { ErrorBody } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";

export const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).openapi("Error");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<ErrorBody, typeof ErrorSchema>>;
