// Schemas of teams and their members.
import { z } from "@hono/zod-openapi";
import type { Member, Team } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { Email, TeamName } from "../../validation/names.ts";
import { ROLES } from "../../teams/roles.ts";

export const RoleSchema = z.enum(ROLES).openapi("Role");

export const TeamSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    personal: z.boolean(),
    role: z.string(),
    apps: z.number().int(),
    members: z.number().int(),
    createdAt: z.string(),
  })
  .openapi("Team");

export const CreateTeamBody = z.object({ name: TeamName }).strict().openapi("CreateTeam");
export const TeamParam = z.object({ team: TeamName.openapi({ param: { name: "team", in: "path" } }) });

export const MemberSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.string(),
    createdAt: z.string(),
  })
  .openapi("Member");

export const AddMemberBody = z
  .object({ email: Email, role: RoleSchema.default("member") })
  .strict()
  .openapi("AddMember");
export const ChangeRoleBody = z.object({ role: RoleSchema }).strict().openapi("ChangeRole");
export const MemberParam = TeamParam.extend({
  member: z
    .string()
    .min(1)
    .max(254)
    .regex(/^[A-Za-z0-9@._+-]+$/, { message: "invalid member reference" })
    .openapi({ param: { name: "member", in: "path" } }),
});

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<Team, typeof TeamSchema>>, Wire<Describes<Member, typeof MemberSchema>>];
