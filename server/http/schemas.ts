// Request and response schemas of the REST API. Validation and the OpenAPI document both come from these.
import { z } from "@hono/zod-openapi";
import { AppName, Email, Password, ResourceId, TeamName } from "../validation/names.ts";
import { ROLES } from "../teams/roles.ts";

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi("Error");

export const RoleSchema = z.enum(ROLES).openapi("Role");

export const UserSchema = z
  .object({ id: z.string(), email: z.string(), name: z.string(), isAdmin: z.boolean(), createdAt: z.string() })
  .openapi("User");

export const SignUpBody = z
  .object({ email: Email, password: Password, name: z.string().trim().max(100).optional() })
  .strict()
  .openapi("SignUp");

export const LoginBody = z
  .object({ email: Email, password: z.string().min(1).max(200) })
  .strict()
  .openapi("Login");

export const SessionSchema = z
  .object({ user: UserSchema, csrfToken: z.string().nullable(), via: z.enum(["session", "token"]) })
  .openapi("Session");

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
  .object({ id: z.string(), userId: z.string(), email: z.string(), name: z.string(), role: z.string(), createdAt: z.string() })
  .openapi("Member");

export const AddMemberBody = z.object({ email: Email, role: RoleSchema.default("member") }).strict().openapi("AddMember");
export const ChangeRoleBody = z.object({ role: RoleSchema }).strict().openapi("ChangeRole");
export const MemberParam = TeamParam.extend({
  member: z
    .string()
    .min(1)
    .max(254)
    .regex(/^[A-Za-z0-9@._+-]+$/, { message: "invalid member reference" })
    .openapi({ param: { name: "member", in: "path" } }),
});

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

export const InviteBody = z.object({ email: Email, role: RoleSchema.default("member") }).strict().openapi("Invite");
export const InvitationParam = TeamParam.extend({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });
export const InviteTokenBody = z
  .object({ token: z.string().min(1).max(200) })
  .strict()
  .openapi("InvitationToken");

export const AppSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    team: z.string(),
    maintenance: z.boolean(),
    webUrl: z.string(),
    gitUrl: z.string(),
    currentRelease: z.number().int().nullable(),
    /** Live: a newer release rolling out, an instance crashed, instances running, or nothing running. */
    status: z.enum(["deploying", "crashed", "running", "idle"]),
    instances: z.object({ running: z.number().int(), total: z.number().int() }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("App");

export const AppDetailSchema = AppSchema.extend({
  role: z.string(),
  formation: z.array(
    z.object({
      type: z.string(),
      quantity: z.number().int(),
      memoryMb: z.number().int(),
      cpu: z.number(),
      diskMb: z.number().int(),
      bandwidthMbit: z.number().int(),
      memoryRequestMb: z.number().int(),
      cpuRequest: z.number(),
    }),
  ),
}).openapi("AppDetail");

export const CreateAppBody = z
  .object({ name: AppName, team: TeamName.optional() })
  .strict()
  .openapi("CreateApp");
export const UpdateAppBody = z
  .object({ maintenance: z.boolean().optional(), team: TeamName.optional() })
  .strict()
  .openapi("UpdateApp");
export const AppParam = z.object({ app: AppName.openapi({ param: { name: "app", in: "path" } }) });
export const AppListQuery = z.object({ team: TeamName.optional() });

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
    name: z.string().trim().min(1).max(60).regex(/^[\w .@:-]+$/, { message: "token names use letters, digits, spaces and . _ - @ :" }),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict()
  .openapi("CreateApiToken");
export const TokenParam = z.object({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });

export const AuditEventSchema = z
  .object({
    id: z.string(),
    action: z.string(),
    target: z.string(),
    app: z.string().nullable(),
    actor: z.string(),
    ip: z.string(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi("AuditEvent");
export const AuditQuery = z.object({
  action: z.string().regex(/^[a-z.]{1,40}$/).optional(),
  app: AppName.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  before: z.iso.datetime().optional(),
});
