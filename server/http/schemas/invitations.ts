// Schemas of team invitations: creating and listing them (team admins) and looking up or accepting one (by token).
import { z } from "@hono/zod-openapi";
import type {
  AcceptedInvitation,
  CreatedInvitation,
  Invitation,
  InvitationPreview,
} from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { Email, ResourceId } from "../../validation/names.ts";
import { RoleSchema, TeamParam } from "./teams.ts";

export const InvitationSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.string(),
    expiresAt: z.string(),
    acceptedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Invitation");

export const CreatedInvitationSchema = InvitationSchema.extend({
  team: z.string(),
  token: z.string(),
  acceptPath: z.string(),
}).openapi("CreatedInvitation");

export const InviteBody = z
  .object({ email: Email, role: RoleSchema.default("member") })
  .strict()
  .openapi("Invite");
export const InvitationParam = TeamParam.extend({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });
export const InviteTokenBody = z
  .object({ token: z.string().min(1).max(200) })
  .strict()
  .openapi("InvitationToken");

/** What an invitation token is for, before it is accepted (POST /invitations/lookup). */
export const InvitationPreviewSchema = z.object({
  team: z.string(),
  email: z.string(),
  role: z.string(),
  expiresAt: z.string(),
});
/** The team joined (POST /invitations/accept). */
export const AcceptedInvitationSchema = z.object({ team: z.string(), role: z.string() });

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<Invitation, typeof InvitationSchema>>,
  Wire<Describes<CreatedInvitation, typeof CreatedInvitationSchema>>,
  Wire<Describes<InvitationPreview, typeof InvitationPreviewSchema>>,
  Wire<Describes<AcceptedInvitation, typeof AcceptedInvitationSchema>>,
];
