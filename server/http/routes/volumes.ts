// Persistent volumes of an app (thin handlers over server/volumes).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { CreateVolumeBody, VolumeInfoSchema, VolumeParam, VolumeSchema } from "../schemas/volumes.ts";
import { createVolume, destroyVolume, listVolumes, volumeInfo } from "../../volumes/volumes.ts";

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
  request: { params: AppParam, body: jsonBody(CreateVolumeBody) },
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
