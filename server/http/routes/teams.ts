// Teams, members and invitations (thin handlers over server/teams).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import {
  AddMemberBody,
  ChangeRoleBody,
  CreateTeamBody,
  MemberParam,
  MemberSchema,
  TeamParam,
  TeamSchema,
} from "../schemas/teams.ts";
import { CreatedInvitationSchema, InvitationParam, InvitationSchema, InviteBody } from "../schemas/invitations.ts";
import { createTeam, deleteTeam, getTeam, listTeams } from "../../teams/teams.ts";
import { addMember, changeMemberRole, listMembers, removeMember } from "../../teams/members.ts";
import { createInvitation, listInvitations, revokeInvitation } from "../../teams/invitations.ts";

const T = ["Teams"];
const r = {
  list: apiRoute({
    method: "get",
    path: "/teams",
    tags: T,
    summary: "Your teams",
    responses: { 200: jsonResponse(z.array(TeamSchema), "Teams") },
  }),
  create: apiRoute({
    method: "post",
    path: "/teams",
    tags: T,
    summary: "Create a team (you become its owner)",
    request: { body: jsonBody(CreateTeamBody) },
    responses: { 201: jsonResponse(TeamSchema, "Created") },
  }),
  info: apiRoute({
    method: "get",
    path: "/teams/{team}",
    tags: T,
    summary: "Show a team",
    request: { params: TeamParam },
    responses: { 200: jsonResponse(TeamSchema, "Team") },
  }),
  destroy: apiRoute({
    method: "delete",
    path: "/teams/{team}",
    tags: T,
    summary: "Delete a team (owner; no apps left)",
    request: { params: TeamParam },
    responses: { 204: { description: "Deleted" } },
  }),
  members: apiRoute({
    method: "get",
    path: "/teams/{team}/members",
    tags: T,
    summary: "Members and roles",
    request: { params: TeamParam },
    responses: { 200: jsonResponse(z.array(MemberSchema), "Members") },
  }),
  addMember: apiRoute({
    method: "post",
    path: "/teams/{team}/members",
    tags: T,
    summary: "Add a registered user (201) or invite an unknown email (202, returns the invitation)",
    request: { params: TeamParam, body: jsonBody(AddMemberBody) },
    responses: {
      201: jsonResponse(z.object({ member: MemberSchema }), "Member added"),
      202: jsonResponse(z.object({ invitation: CreatedInvitationSchema }), "Invitation created"),
    },
  }),
  changeRole: apiRoute({
    method: "patch",
    path: "/teams/{team}/members/{member}",
    tags: T,
    summary: "Change a member's role (member = membership id, user id or email)",
    request: { params: MemberParam, body: jsonBody(ChangeRoleBody) },
    responses: { 200: jsonResponse(MemberSchema, "Updated") },
  }),
  removeMember: apiRoute({
    method: "delete",
    path: "/teams/{team}/members/{member}",
    tags: T,
    summary: "Remove a member (or leave, for yourself)",
    request: { params: MemberParam },
    responses: { 204: { description: "Removed" } },
  }),
  invitations: apiRoute({
    method: "get",
    path: "/teams/{team}/invitations",
    tags: T,
    summary: "Pending invitations (admin)",
    request: { params: TeamParam },
    responses: { 200: jsonResponse(z.array(InvitationSchema), "Invitations") },
  }),
  invite: apiRoute({
    method: "post",
    path: "/teams/{team}/invitations",
    tags: T,
    summary: "Invite an email address (admin); the token is returned once",
    request: { params: TeamParam, body: jsonBody(InviteBody) },
    responses: { 201: jsonResponse(CreatedInvitationSchema, "Created") },
  }),
  revokeInvite: apiRoute({
    method: "delete",
    path: "/teams/{team}/invitations/{id}",
    tags: T,
    summary: "Withdraw an invitation (admin)",
    request: { params: InvitationParam },
    responses: { 204: { description: "Withdrawn" } },
  }),
};

/** Routes under /api/v1 for teams. */
export const teamRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(r.list, async (c) => c.json(await listTeams(c.get("services"), requireActor(c)), 200))
  .openapi(r.create, async (c) =>
    c.json(await createTeam(c.get("services"), requireActor(c), c.req.valid("json").name), 201),
  )
  .openapi(r.info, async (c) =>
    c.json(await getTeam(c.get("services"), requireActor(c), c.req.valid("param").team), 200),
  )
  .openapi(r.destroy, async (c) => {
    await deleteTeam(c.get("services"), requireActor(c), c.req.valid("param").team);
    return c.body(null, 204);
  })
  .openapi(r.members, async (c) =>
    c.json(await listMembers(c.get("services"), requireActor(c), c.req.valid("param").team), 200),
  )
  .openapi(r.addMember, async (c) => {
    const { email, role } = c.req.valid("json");
    const result = await addMember(c.get("services"), requireActor(c), c.req.valid("param").team, email, role);
    return result.kind === "member"
      ? c.json({ member: result.member }, 201)
      : c.json({ invitation: result.invitation }, 202);
  })
  .openapi(r.changeRole, async (c) => {
    const { team, member } = c.req.valid("param");
    return c.json(
      await changeMemberRole(c.get("services"), requireActor(c), team, member, c.req.valid("json").role),
      200,
    );
  })
  .openapi(r.removeMember, async (c) => {
    const { team, member } = c.req.valid("param");
    await removeMember(c.get("services"), requireActor(c), team, member);
    return c.body(null, 204);
  })
  .openapi(r.invitations, async (c) =>
    c.json(await listInvitations(c.get("services"), requireActor(c), c.req.valid("param").team), 200),
  )
  .openapi(r.invite, async (c) => {
    const { email, role } = c.req.valid("json");
    return c.json(
      await createInvitation(c.get("services"), requireActor(c), c.req.valid("param").team, email, role),
      201,
    );
  })
  .openapi(r.revokeInvite, async (c) => {
    const { team, id } = c.req.valid("param");
    await revokeInvitation(c.get("services"), requireActor(c), team, id);
    return c.body(null, 204);
  });
