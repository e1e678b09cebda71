// Schemas of an app's custom domains.
import { z } from "@hono/zod-openapi";
import type { Domain } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { AppParam } from "./apps.ts";

export const DomainSchema = z
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
export const AddDomainBody = z.object({ hostname: Hostname }).strict().openapi("AddDomain");
export const DomainParam = AppParam.extend({ hostname: Hostname.openapi({ param: { name: "hostname", in: "path" } }) });

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<Domain, typeof DomainSchema>>;
