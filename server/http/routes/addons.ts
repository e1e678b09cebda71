// Managed services (add-ons) of an app (thin handlers over server/addons).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import {
  AddonInfoSchema,
  AddonParam,
  AddonSchema,
  AttachAddonBody,
  AttachmentSchema,
  CreateAddonBody,
} from "../schemas/addons.ts";
import { addonInfo, createAddon, destroyAddon, listAddons } from "../../addons/addons.ts";
import { attachAddon, detachAddon, listAttachments } from "../../addons/attachments.ts";

const T = ["Add-ons"];
const attachments = apiRoute({
  method: "get",
  path: "/apps/{app}/attachments",
  tags: T,
  summary: "Add-ons of other apps of the team attached to this app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(AttachmentSchema), "Attachments") },
});
const attach = apiRoute({
  method: "post",
  path: "/apps/{app}/attachments",
  tags: T,
  summary: "Attach an add-on of the same team to this app under its own config var (member and above; one release)",
  request: { params: AppParam, body: jsonBody(AttachAddonBody) },
  responses: { 201: jsonResponse(AttachmentSchema, "Attached") },
});
const detach = apiRoute({
  method: "delete",
  path: "/apps/{app}/attachments/{addon}",
  tags: T,
  summary: "Detach an add-on from this app: its config var goes in one release (member and above)",
  request: { params: AddonParam },
  responses: { 204: { description: "Detached" } },
});
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/addons",
  tags: T,
  summary: "Managed services of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(AddonSchema), "Add-ons") },
});
const create = apiRoute({
  method: "post",
  path: "/apps/{app}/addons",
  tags: T,
  summary: "Provision an add-on (member and above); answers at once, state provisioning, then available or failed",
  request: { params: AppParam, body: jsonBody(CreateAddonBody) },
  responses: { 202: jsonResponse(AddonSchema, "Provisioning") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}/addons/{addon}",
  tags: T,
  summary: "One add-on: plan, pinned version, state, size, current connections and data size",
  request: { params: AddonParam },
  responses: { 200: jsonResponse(AddonInfoSchema, "Add-on") },
});
const destroy = apiRoute({
  method: "delete",
  path: "/apps/{app}/addons/{addon}",
  tags: T,
  summary: "Destroy an add-on and its data (member and above): service, volume and config var (one release)",
  request: { params: AddonParam },
  responses: { 204: { description: "Destroyed" } },
});

/** Routes under /api/v1 for add-ons. */
export const addonRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listAddons(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(create, async (c) =>
    c.json(await createAddon(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")), 202),
  )
  .openapi(info, async (c) => {
    const { app, addon } = c.req.valid("param");
    return c.json(await addonInfo(c.get("services"), requireActor(c), app, addon), 200);
  })
  .openapi(destroy, async (c) => {
    const { app, addon } = c.req.valid("param");
    await destroyAddon(c.get("services"), requireActor(c), app, addon);
    return c.body(null, 204);
  })
  .openapi(attachments, async (c) =>
    c.json(await listAttachments(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(attach, async (c) => {
    const body = c.req.valid("json");
    return c.json(
      await attachAddon(c.get("services"), requireActor(c), c.req.valid("param").app, body.addon, body.as),
      201,
    );
  })
  .openapi(detach, async (c) => {
    const { app, addon } = c.req.valid("param");
    await detachAddon(c.get("services"), requireActor(c), app, addon);
    return c.body(null, 204);
  });
