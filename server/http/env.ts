// Types shared by the HTTP layer: Hono env with the request's services, caller and request id.
import type { HttpBindings } from "@hono/node-server";
import type { Context } from "hono";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";

export interface ApiEnv {
  Bindings: HttpBindings;
  Variables: {
    services: Services;
    actor: Actor | null;
    /** Set when the caller authenticated with the session cookie. */
    sessionId: string | null;
    requestId: string;
    ip: string;
  };
}

export type ApiContext = Context<ApiEnv>;

/** The authenticated caller, or 401. */
export function requireActor(c: ApiContext): Actor {
  const actor = c.get("actor");
  if (!actor) throw errors.unauthorized();
  return actor;
}
