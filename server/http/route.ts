// Helpers to declare API routes once: validation, OpenAPI description and standard error responses together.
import { createRoute, type RouteConfig, type z } from "@hono/zod-openapi";
import { ErrorSchema } from "./schemas/error.ts";

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** Error responses every authenticated route can give. */
export const standardErrors = {
  400: errorResponse("Malformed request"),
  401: errorResponse("Not authenticated"),
  403: errorResponse("Role does not allow this, or CSRF check failed"),
  404: errorResponse("Not found (also for other teams' resources)"),
  409: errorResponse("Conflict"),
  413: errorResponse("Body too large"),
  422: errorResponse("Validation failed"),
  429: errorResponse("Rate limited"),
};

/** JSON request body descriptor. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true };
}

/** JSON response descriptor. */
export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** Declares a route with the standard errors and bearer/cookie security attached. */
export function apiRoute<R extends Omit<RouteConfig, "responses"> & { responses: RouteConfig["responses"] }>(
  config: R,
  opts: { public?: boolean } = {},
) {
  return createRoute({
    ...config,
    security: opts.public ? [] : [{ bearer: [] }, { session: [] }],
    responses: { ...standardErrors, ...config.responses },
  } as R & { responses: R["responses"] & typeof standardErrors });
}
