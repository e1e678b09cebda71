// Schemas of builds and releases.
import { z } from "@hono/zod-openapi";
import type { Build, BuildDetail, Release } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ResourceId } from "../../validation/names.ts";
import { ImageRef } from "../../validation/image-ref.ts";
import { AppParam } from "./apps.ts";

export const BuildSchema = z
  .object({
    id: z.string(),
    status: z.string(),
    ref: z.string(),
    commit: z.string(),
    image: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("Build");
export const BuildDetailSchema = BuildSchema.extend({ output: z.string() }).openapi("BuildDetail");
export const ReleaseSchema = z
  .object({
    version: z.number().int(),
    name: z.string(),
    image: z.string(),
    processTypes: z.record(z.string(), z.string()),
    configKeys: z.array(z.string()),
    config: z.record(z.string(), z.string()).optional(),
    description: z.string(),
    status: z.string(),
    failReason: z.string().nullable(),
    buildId: z.string().nullable(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi("Release");

export const BuildParam = AppParam.extend({ id: ResourceId.openapi({ param: { name: "id", in: "path" } }) });
export const VersionParam = AppParam.extend({
  version: z
    .string()
    .regex(/^v?[1-9][0-9]{0,8}$/, { message: "release versions look like v12" })
    .openapi({ param: { name: "version", in: "path" }, example: "v3" }),
});

export const DeployImageBody = z.object({ image: ImageRef }).strict().openapi("DeployImage");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<Build, typeof BuildSchema>>,
  Wire<Describes<BuildDetail, typeof BuildDetailSchema>>,
  Wire<Describes<Release, typeof ReleaseSchema>>,
];
