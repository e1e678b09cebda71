// Builds and releases of an app (thin handlers).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import {
  BuildDetailSchema,
  BuildParam,
  BuildSchema,
  DeployImageBody,
  ReleaseSchema,
  VersionParam,
} from "../schemas/releases.ts";
import { getBuild, listBuilds } from "../../builds/builds.ts";
import { getRelease, listReleases } from "../../releases/releases.ts";
import { deployImage } from "../../releases/deploy-image.ts";

const T = ["Releases"];
const builds = apiRoute({
  method: "get",
  path: "/apps/{app}/builds",
  tags: T,
  summary: "Builds of an app, newest first",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(BuildSchema), "Builds") },
});
const build = apiRoute({
  method: "get",
  path: "/apps/{app}/builds/{id}",
  tags: T,
  summary: "One build with its output",
  request: { params: BuildParam },
  responses: { 200: jsonResponse(BuildDetailSchema, "Build") },
});
const releases = apiRoute({
  method: "get",
  path: "/apps/{app}/releases",
  tags: T,
  summary: "Releases of an app, newest first (config values hidden from viewers)",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(ReleaseSchema), "Releases") },
});
const release = apiRoute({
  method: "get",
  path: "/apps/{app}/releases/{version}",
  tags: T,
  summary: "One release",
  request: { params: VersionParam },
  responses: { 200: jsonResponse(ReleaseSchema, "Release") },
});

const deploy = apiRoute({
  method: "post",
  path: "/apps/{app}/releases",
  tags: T,
  summary: "Release an existing image (copied into the platform registry); member and above",
  request: { params: AppParam, body: jsonBody(DeployImageBody) },
  responses: { 201: jsonResponse(ReleaseSchema, "Released") },
});

/** Routes under /api/v1 for builds and releases. */
export const releaseRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(builds, async (c) =>
    c.json(await listBuilds(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(build, async (c) => {
    const { app, id } = c.req.valid("param");
    return c.json(await getBuild(c.get("services"), requireActor(c), app, id), 200);
  })
  .openapi(releases, async (c) =>
    c.json(await listReleases(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(deploy, async (c) => {
    const s = c.get("services");
    return c.json(await deployImage(s, requireActor(c), c.req.valid("param").app, c.req.valid("json").image), 201);
  })
  .openapi(release, async (c) => {
    const { app, version } = c.req.valid("param");
    return c.json(await getRelease(c.get("services"), requireActor(c), app, Number(version.replace(/^v/, ""))), 200);
  });
