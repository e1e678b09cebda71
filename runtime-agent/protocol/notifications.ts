// Id-less notifications the agent streams to the control plane: instance events, log batches, stats.
import { z } from "zod";
import { AppName, InstanceId, ProcessType, ReleaseId } from "./names.ts";

/** Observed lifecycle states of an instance. */
export const InstanceState = z.enum(["pending", "starting", "running", "stopping", "stopped", "crashed", "failed"]);
export type InstanceState = z.infer<typeof InstanceState>;

const owner = { instanceId: InstanceId, app: AppName, release: ReleaseId, processType: ProcessType };
const timestamp = z.iso.datetime({ offset: true });

/** One transition of one instance (`instance.event`). */
export const InstanceEvent = z.strictObject({
  ...owner,
  state: InstanceState,
  at: timestamp,
  exitCode: z.int().min(0).max(255).optional(),
  /** Short machine-readable cause: `oom-killed`, `health-check-failed`, `image-pull-failed`, ... */
  reason: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/)
    .optional(),
  message: z.string().max(2048).optional(),
  hostPort: z.int().min(1).max(65_535).optional(),
  restarts: z.int().min(0).optional(),
});
export type InstanceEvent = z.infer<typeof InstanceEvent>;

/** One log line as conmon's k8s-file log recorded it. */
export const LogLine = z.strictObject({
  at: timestamp,
  stream: z.enum(["stdout", "stderr"]),
  /** True when conmon split a long line (`P`); the next line with the same stream continues it. */
  partial: z.boolean().default(false),
  text: z.string().max(64 * 1024),
});
export type LogLine = z.infer<typeof LogLine>;

/**
 * A batch of log lines of one instance (`instance.logs`); `offset` is the byte offset after the last line. `lost`
 * (optional, older agents never send it) counts lines the agent could not read before these (a log file rotated away
 * before it was read): the control plane puts a marker with the count in the app's log. A batch with no lines
 * carries only such a count.
 */
export const LogBatch = z
  .strictObject({
    ...owner,
    offset: z.int().min(0),
    lines: z.array(LogLine).max(10_000),
    lost: z.int().min(1).optional(),
  })
  .refine((b) => b.lines.length > 0 || b.lost !== undefined, { message: "a log batch carries lines or a lost count" });
export type LogBatch = z.infer<typeof LogBatch>;

/** Resource usage of one instance at one moment; counters are cumulative since the container started. */
export const InstanceStats = z.strictObject({
  instanceId: InstanceId,
  cpuNanos: z.int().min(0),
  memoryBytes: z.int().min(0),
  memoryLimitBytes: z.int().min(0),
  pids: z.int().min(0),
  netRxBytes: z.int().min(0),
  netTxBytes: z.int().min(0),
  blkReadBytes: z.int().min(0),
  blkWriteBytes: z.int().min(0),
});
export type InstanceStats = z.infer<typeof InstanceStats>;

/** Stats of every instance on the node (`node.stats`). */
export const StatsBatch = z.strictObject({
  at: timestamp,
  instances: z.array(InstanceStats).max(1000),
});
export type StatsBatch = z.infer<typeof StatsBatch>;
