// Process formation: quantity and limits per process type (thin handlers over server/formation).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { ProcessType } from "../../validation/names.ts";
import { changeFormation, getFormation, isHundredths, LIMITS } from "../../formation/formation.ts";

const FormationSchema = z
  .object({
    type: z.string(),
    quantity: z.number().int(),
    memoryMb: z.number().int(),
    cpu: z.number(),
    diskMb: z.number().int().openapi({ description: "Size of each instance's writable layer (MiB)" }),
    bandwidthMbit: z.number().int().openapi({ description: "Network bandwidth of each instance, each way (Mbit/s)" }),
  })
  .openapi("ProcessFormation");

const range = (field: keyof typeof LIMITS) => `${field} must be from ${LIMITS[field].min} to ${LIMITS[field].max}`;
const Update = z
  .object({
    type: ProcessType,
    quantity: z
      .number()
      .int()
      .min(LIMITS.quantity.min, range("quantity"))
      .max(LIMITS.quantity.max, range("quantity"))
      .optional(),
    memoryMb: z
      .number()
      .int()
      .min(LIMITS.memoryMb.min, range("memoryMb"))
      .max(LIMITS.memoryMb.max, range("memoryMb"))
      .optional(),
    cpu: z
      .number()
      .min(LIMITS.cpu.min, range("cpu"))
      .max(LIMITS.cpu.max, range("cpu"))
      .refine(isHundredths, { message: "cpu is given in steps of 0.01" })
      .optional(),
    diskMb: z
      .number()
      .int()
      .min(LIMITS.diskMb.min, range("diskMb"))
      .max(LIMITS.diskMb.max, range("diskMb"))
      .optional(),
    bandwidthMbit: z
      .number()
      .int()
      .min(LIMITS.bandwidthMbit.min, range("bandwidthMbit"))
      .max(LIMITS.bandwidthMbit.max, range("bandwidthMbit"))
      .optional(),
  })
  .strict()
  .refine(
    (u) =>
      u.quantity !== undefined ||
      u.memoryMb !== undefined ||
      u.cpu !== undefined ||
      u.diskMb !== undefined ||
      u.bandwidthMbit !== undefined,
    { message: "give at least one of quantity, memoryMb, cpu, diskMb, bandwidthMbit" },
  );
const ChangeBody = z
  .object({ updates: z.array(Update).min(1, { message: "nothing to change" }).max(100) })
  .strict()
  .openapi("FormationChange");

const T = ["Formation"];
const get = apiRoute({
  method: "get",
  path: "/apps/{app}/formation",
  tags: T,
  summary: "Process types with their quantity, memory (MB) and CPU limits",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(FormationSchema), "Formation") },
});
const change = apiRoute({
  method: "patch",
  path: "/apps/{app}/formation",
  tags: T,
  summary: "Scale and resize process types in one atomic change; never builds or releases (member and above)",
  request: { params: AppParam, body: jsonBody(ChangeBody) },
  responses: { 200: jsonResponse(z.array(FormationSchema), "The whole formation after the change") },
});

/** Routes under /api/v1 for the process formation. */
export const formationRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(get, async (c) =>
    c.json(await getFormation(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(change, async (c) =>
    c.json(
      await changeFormation(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json").updates),
      200,
    ),
  );
