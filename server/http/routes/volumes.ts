// Persistent volumes of an app (thin handlers over server/volumes).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { createVolume, destroyVolume, listVolumes, volumeInfo, VOLUME_LIMITS } from "../../volumes/volumes.ts";

const VolumeSchema = z
  .object({
    name: z.string(),
    processType: z.string().openapi({ description: "Every instance of this process type mounts the volume" }),
    mountPath: z.string().openapi({ description: "Where it is mounted inside the container" }),
    sizeMb: z.int().openapi({ description: "Size limit (MiB): writes past it fail with ENOSPC inside the container" }),
    node: z.string().nullable().openapi({ description: "The node it lives on; null until its first instance starts" }),
    createdAt: z.string(),
  })
  .openapi("Volume");
const VolumeInfoSchema = VolumeSchema.extend({
  usedBytes: z.int().nullable().openapi({ description: "Bytes used, as its node reports them (null: not known now)" }),
  instances: z.array(z.string()).openapi({ description: "Instances that mount it" }),
}).openapi("VolumeInfo");
// Name, type and path are checked by server/volumes (after authorization); here only sizes are bounded.
const CreateBody = z
  .object({
    name: z.string().min(1).max(30),
    processType: z.string().min(1).max(30).default("web"),
    mountPath: z.string().min(2).max(200),
    sizeMb: z.int().min(VOLUME_LIMITS.sizeMb.min).max(VOLUME_LIMITS.sizeMb.max),
  })
  .strict()
  .openapi("CreateVolume");
const VolumeParam = AppParam.extend({
  volume: z
    .string()
    .min(1)
    .max(30)
    .openapi({ param: { name: "volume", in: "path" } }),
});

const T = ["Volumes"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/volumes",
  tags: T,
  summary: "Persistent volumes of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(VolumeSchema), "Volumes") },
});
const create = apiRoute({
  method: "post",
  path: "/apps/{app}/volumes",
  tags: T,
  summary:
    "Create a volume for a process type (admin and above); its instances are replaced stop-then-start to mount it",
  request: { params: AppParam, body: jsonBody(CreateBody) },
  responses: { 201: jsonResponse(VolumeSchema, "Created") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}/volumes/{volume}",
  tags: T,
  summary: "One volume with its usage and the instances that mount it",
  request: { params: VolumeParam },
  responses: { 200: jsonResponse(VolumeInfoSchema, "Volume") },
});
const destroy = apiRoute({
  method: "delete",
  path: "/apps/{app}/volumes/{volume}",
  tags: T,
  summary: "Destroy a volume and its data (admin and above; 409 while an instance mounts it)",
  request: { params: VolumeParam },
  responses: { 204: { description: "Destroyed" } },
});

/** Routes under /api/v1 for persistent volumes. */
export const volumeRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listVolumes(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(create, async (c) =>
    c.json(await createVolume(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")), 201),
  )
  .openapi(info, async (c) => {
    const { app, volume } = c.req.valid("param");
    return c.json(await volumeInfo(c.get("services"), requireActor(c), app, volume), 200);
  })
  .openapi(destroy, async (c) => {
    const { app, volume } = c.req.valid("param");
    await destroyVolume(c.get("services"), requireActor(c), app, volume);
    return c.body(null, 204);
  });
