// Schemas of the process formation: quantity, limits and requests per process type.
import { z } from "@hono/zod-openapi";
import type { ProcessFormation } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { ProcessType } from "../../validation/names.ts";
import { isHundredths, LIMITS } from "../../formation/formation.ts";

export const FormationSchema = z
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
export const FormationChangeBody = z
  .object({ updates: z.array(Update).min(1, { message: "nothing to change" }).max(100) })
  .strict()
  .openapi("FormationChange");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<ProcessFormation, typeof FormationSchema>>;
