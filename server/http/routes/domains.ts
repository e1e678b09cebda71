// Custom domains of an app (thin handlers over server/domains).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas/apps.ts";
import { AddDomainBody, DomainParam, DomainSchema } from "../schemas/domains.ts";
import { addDomain, listDomains, removeDomain, verifyDomain } from "../../domains/domains.ts";

const T = ["Domains"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/domains",
  tags: T,
  summary: "Custom domains of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(DomainSchema), "Domains") },
});
const add = apiRoute({
  method: "post",
  path: "/apps/{app}/domains",
  tags: T,
  summary:
    "Claim a custom domain (pending until verified; a verified hostname belongs to one app on the whole instance; admin and above)",
  request: { params: AppParam, body: jsonBody(AddDomainBody) },
  responses: { 201: jsonResponse(DomainSchema, "Added") },
});
const verify = apiRoute({
  method: "post",
  path: "/apps/{app}/domains/{hostname}/verify",
  tags: T,
  summary:
    "Verify a pending domain: its TXT record _berth-challenge.HOSTNAME must carry the domain's token; then it is routed (admin and above)",
  request: { params: DomainParam },
  responses: { 200: jsonResponse(DomainSchema, "Verified") },
});
const remove = apiRoute({
  method: "delete",
  path: "/apps/{app}/domains/{hostname}",
  tags: T,
  summary: "Remove a custom domain (admin and above)",
  request: { params: DomainParam },
  responses: { 204: { description: "Removed" } },
});

/** Routes under /api/v1 for custom domains. */
export const domainRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listDomains(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(add, async (c) =>
    c.json(
      await addDomain(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json").hostname),
      201,
    ),
  )
  .openapi(verify, async (c) => {
    const { app, hostname } = c.req.valid("param");
    return c.json(await verifyDomain(c.get("services"), requireActor(c), app, hostname), 200);
  })
  .openapi(remove, async (c) => {
    const { app, hostname } = c.req.valid("param");
    await removeDomain(c.get("services"), requireActor(c), app, hostname);
    return c.body(null, 204);
  });
