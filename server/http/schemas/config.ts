// Schemas of an app's config vars.
import { z } from "@hono/zod-openapi";
import type { ConfigChangeResult, ConfigVar } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { EnvKey } from "../../validation/names.ts";

export const ConfigVarSchema = z
  .object({ key: z.string(), value: z.string(), masked: z.boolean(), buildTime: z.boolean() })
  .openapi("ConfigVar");
const Value = z
  .string()
  .max(32 * 1024, { message: "config values are at most 32 KiB" })
  .refine((v) => !v.includes("\u0000"), { message: "config values cannot contain NUL" });
// zod drops a `__proto__` key from records without a word; the raw body is checked first so it gets EnvKey's error.
const SetVars = z.preprocess(
  (raw, ctx) => {
    if (raw !== null && typeof raw === "object" && Object.hasOwn(raw, "__proto__")) {
      ctx.addIssue({ code: "custom", message: "__proto__ cannot be used as a config var name", input: raw });
    }
    return raw;
  },
  z.record(EnvKey, Value),
);
export const ConfigChangeBody = z
  .object({
    set: SetVars.default({}),
    unset: z.array(EnvKey).max(200).default([]),
    buildTime: z.array(EnvKey).max(200).default([]),
    runtimeOnly: z.array(EnvKey).max(200).default([]),
  })
  .strict()
  .openapi("ConfigChange");

/** Answer of PATCH /apps/{app}/config: the vars after the change and the release it made (null: none). */
export const ConfigChangeResultSchema = z.object({
  config: z.array(ConfigVarSchema),
  release: z.number().int().nullable(),
});

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<ConfigVar, typeof ConfigVarSchema>>,
  Wire<Describes<ConfigChangeResult, typeof ConfigChangeResultSchema>>,
];
