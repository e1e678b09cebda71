// Custom domains of an app (thin handlers over server/domains).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { addDomain, listDomains, removeDomain, verifyDomain } from "../../domains/domains.ts";

const DomainSchema = z
  .object({
    hostname: z.string(),
    status: z.enum(["pending", "verified"]).openapi({
      description: "pending: not routed, no certificate, until the TXT record below is published and verified",
    }),
    cname: z.string().openapi({ description: "Point a CNAME record for the hostname here" }),
    url: z.string().openapi({ description: "Where the app answers on this hostname" }),
    https: z.boolean().openapi({
      description: "Served over HTTPS with a certificate the router obtains itself; plain HTTP redirects there",
    }),
    verification: z
      .object({ type: z.literal("TXT"), name: z.string(), value: z.string() })
      .openapi({ description: "The DNS record that proves control of the hostname: publish it, then verify" }),
    verifiedAt: z.string().nullable(),
    expiresAt: z.string().nullable().openapi({ description: "When a pending claim lapses (null once verified)" }),
    createdAt: z.string(),
  })
  .openapi("Domain");
// Syntax and ownership are checked by server/domains (after authorization); here only the size is bounded.
const Hostname = z.string().min(1, { message: "hostname is empty" }).max(300, { message: "hostname is too long" });
const AddBody = z.object({ hostname: Hostname }).strict().openapi("AddDomain");
const DomainParam = AppParam.extend({ hostname: Hostname.openapi({ param: { name: "hostname", in: "path" } }) });

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
  request: { params: AppParam, body: jsonBody(AddBody) },
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
