// Schemas of an app's deploy settings: rollout batch and web health check path.
import { z } from "@hono/zod-openapi";
import type { DeploySettings } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import {
  HEALTH_PATH_MESSAGE,
  isHealthPath,
  ROLLOUT_BATCH_MAX,
  ROLLOUT_BATCH_MESSAGE,
} from "../../apps/deploy-settings.ts";

export const DeploySettingsSchema = z
  .object({
    rolloutBatch: z.number().int().openapi({
      description: "New instances per process type starting at a time during rollouts and restarts; 0 = all at once",
    }),
    healthCheckPath: z.string().nullable().openapi({
      description: "Path web instances must answer with 2xx/3xx to count as started; null = TCP connect to PORT only",
    }),
  })
  .openapi("DeploySettings");

export const DeploySettingsChangeBody = z
  .object({
    rolloutBatch: z
      .number({ message: ROLLOUT_BATCH_MESSAGE })
      .int({ message: ROLLOUT_BATCH_MESSAGE })
      .min(0, { message: ROLLOUT_BATCH_MESSAGE })
      .max(ROLLOUT_BATCH_MAX, { message: ROLLOUT_BATCH_MESSAGE })
      .optional(),
    healthCheckPath: z
      .string({ message: HEALTH_PATH_MESSAGE })
      .refine(isHealthPath, { message: HEALTH_PATH_MESSAGE })
      .nullable()
      .optional(),
  })
  .strict()
  .refine((u) => u.rolloutBatch !== undefined || u.healthCheckPath !== undefined, {
    message: "give at least one of rolloutBatch, healthCheckPath",
  })
  .openapi("DeploySettingsChange");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = Wire<Describes<DeploySettings, typeof DeploySettingsSchema>>;
