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
    memoryRequestMb: z
      .number()
      .int()
      .openapi({ description: "Memory placement counts per instance (MB); the memory limit unless set lower" }),
    cpuRequest: z
      .number()
      .openapi({ description: "CPU placement counts per instance (cores), apart from the CPU limit; 0.1 unless set" }),
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
    diskMb: z.number().int().min(LIMITS.diskMb.min, range("diskMb")).max(LIMITS.diskMb.max, range("diskMb")).optional(),
    bandwidthMbit: z
      .number()
      .int()
      .min(LIMITS.bandwidthMbit.min, range("bandwidthMbit"))
      .max(LIMITS.bandwidthMbit.max, range("bandwidthMbit"))
      .optional(),
    memoryRequestMb: z
      .number()
      .int()
      .min(LIMITS.memoryRequestMb.min, range("memoryRequestMb"))
      .max(LIMITS.memoryRequestMb.max, range("memoryRequestMb"))
      .nullable()
      .optional()
      .openapi({ description: "At most memoryMb; null: back to the default (the memory limit)" }),
    cpuRequest: z
      .number()
      .min(LIMITS.cpuRequest.min, range("cpuRequest"))
      .max(LIMITS.cpuRequest.max, range("cpuRequest"))
      .refine(isHundredths, { message: "cpuRequest is given in steps of 0.01" })
      .nullable()
      .optional()
      .openapi({ description: "At most cpu; null: back to the default (0.1)" }),
  })
  .strict()
  .refine(
    (u) =>
      u.quantity !== undefined ||
      u.memoryMb !== undefined ||
      u.cpu !== undefined ||
      u.diskMb !== undefined ||
      u.bandwidthMbit !== undefined ||
      u.memoryRequestMb !== undefined ||
      u.cpuRequest !== undefined,
    { message: "give at least one of quantity, memoryMb, cpu, diskMb, bandwidthMbit, memoryRequestMb, cpuRequest" },
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
  summary: "Process types with their quantity, limits (memory MB, CPU, disk, bandwidth) and requests (memory, CPU)",
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
