// Accepting an invitation (signed-in user whose email matches) and peeking at one (public, by token).
import { OpenAPIHono } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AcceptedInvitationSchema, InvitationPreviewSchema, InviteTokenBody } from "../schemas/invitations.ts";
import { acceptInvitation, peekInvitation } from "../../teams/invitations.ts";

const T = ["Teams"];
const peek = apiRoute(
  {
    method: "post",
    path: "/invitations/lookup",
    tags: T,
    summary: "Which team, email and role an invitation token is for",
    request: { body: jsonBody(InviteTokenBody) },
    responses: { 200: jsonResponse(InvitationPreviewSchema, "Invitation") },
  },
  { public: true },
);
const accept = apiRoute({
  method: "post",
  path: "/invitations/accept",
  tags: T,
  summary: "Accept an invitation sent to your email address (single use)",
  request: { body: jsonBody(InviteTokenBody) },
  responses: { 200: jsonResponse(AcceptedInvitationSchema, "Joined") },
});

/** Routes under /api/v1 for invitation tokens. */
export const invitationRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(peek, async (c) => c.json(await peekInvitation(c.get("services"), c.req.valid("json").token), 200))
  .openapi(accept, async (c) =>
    c.json(await acceptInvitation(c.get("services"), requireActor(c), c.req.valid("json").token), 200),
  );
