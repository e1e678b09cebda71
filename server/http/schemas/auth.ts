// Schemas of sign-up, sign-in and the current session.
import { z } from "@hono/zod-openapi";
import type { Session, User } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { Email, Password } from "../../validation/names.ts";

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

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<User, typeof UserSchema>>, Wire<Describes<Session, typeof SessionSchema>>];
