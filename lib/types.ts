// Wire types of the REST API, inferred from the server's zod schemas so the dashboard cannot drift from them.
// Type-only imports: nothing from server/ ends up in the browser bundle.
import type { z } from "zod";
import type {
  AppDetailSchema,
  AppSchema,
  AuditEventSchema,
  CreatedInvitationSchema,
  CreatedTokenSchema,
  InvitationSchema,
  MemberSchema,
  SessionSchema,
  TeamSchema,
  TokenSchema,
  UserSchema,
} from "@/server/http/schemas.ts";

export type User = z.infer<typeof UserSchema>;
export type Session = z.infer<typeof SessionSchema>;
export type Team = z.infer<typeof TeamSchema>;
export type Member = z.infer<typeof MemberSchema>;
export type Invitation = z.infer<typeof InvitationSchema>;
export type CreatedInvitation = z.infer<typeof CreatedInvitationSchema>;
export type App = z.infer<typeof AppSchema>;
export type AppDetail = z.infer<typeof AppDetailSchema>;
export type ApiToken = z.infer<typeof TokenSchema>;
export type CreatedApiToken = z.infer<typeof CreatedTokenSchema>;
export type AuditEvent = z.infer<typeof AuditEventSchema>;

/** Roles ordered from least to most privileged (mirrors server/teams/roles.ts). */
export const ROLES = ["viewer", "member", "admin", "owner"] as const;
export type Role = (typeof ROLES)[number];

/** What an invitation token resolves to before it is accepted. */
export interface InvitationPreview {
  team: string;
  email: string;
  role: string;
  expiresAt: string;
}

/** 201 (existing user added) or 202 (invitation created) from POST /teams/{team}/members. */
export type AddMemberResult = { member: Member } | { invitation: CreatedInvitation };
