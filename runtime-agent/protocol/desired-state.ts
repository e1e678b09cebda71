// The desired-state message: the full set of instances a node should run (level-triggered, applied idempotently).
// Every object is strict: a field the agent does not know (privileged, hostNetwork, mounts, devices...) is an
// error, never silently ignored.
import { z } from "zod";
import {
  AppName,
  CommandArg,
  EnvKey,
  EnvValue,
  HttpPath,
  ImageRef,
  InstanceId,
  MountPath,
  ProcessType,
  ReleaseId,
  TeamId,
  VolumeId,
} from "./names.ts";

const MiB = 1024 * 1024;

/** Default pids limit per instance when the control plane sends none. */
export const DEFAULT_PIDS_LIMIT = 512;

/** Default size of an instance's writable layer when the control plane sends none (1 GiB). */
export const DEFAULT_DISK_BYTES = 1024 * MiB;

/** Default network bandwidth of an instance, each direction, when the control plane sends none (100 Mbit/s). */
export const DEFAULT_BANDWIDTH_BITS_PER_SEC = 100_000_000;

/**
 * Resource limits: memory is a hard limit, CPU in millicores (1000 = one core), pids caps fork bombs, diskBytes caps
 * the container's writable layer (writes past it fail with ENOSPC inside the container), bandwidthBitsPerSec caps
 * the instance's network traffic in each direction.
 */
export const Limits = z.strictObject({
  memoryBytes: z
    .int()
    .min(4 * MiB)
    .max(1024 * 1024 * MiB),
  cpuMillis: z.int().min(10).max(256_000),
  /**
   * CPU request in millicores: the instance's share of contended CPU (cgroup cpu.shares / cpu.weight, proportional to
   * it); placement counts it. Absent (older control planes): the limit stands in for it.
   */
  cpuRequestMillis: z.int().min(1).max(256_000).optional(),
  pids: z.int().min(8).max(65_536).default(DEFAULT_PIDS_LIMIT),
  diskBytes: z
    .int()
    .min(16 * MiB)
    .max(1024 * 1024 * MiB)
    .default(DEFAULT_DISK_BYTES),
  bandwidthBitsPerSec: z.int().min(1_000_000).max(100_000_000_000).default(DEFAULT_BANDWIDTH_BITS_PER_SEC),
});
export type Limits = z.infer<typeof Limits>;

const timing = {
  intervalMs: z.int().min(100).max(300_000).default(5_000),
  timeoutMs: z.int().min(50).max(60_000).default(2_000),
  /** How long a starting instance may stay unhealthy before it counts as crashed. */
  startTimeoutMs: z.int().min(1_000).max(600_000).default(60_000),
};

/** Health check: TCP connect to the port (default for web), an HTTP GET of a path, or none. */
export const HealthCheck = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("tcp"), ...timing }),
  z.strictObject({ type: z.literal("http"), path: HttpPath, ...timing }),
  z.strictObject({ type: z.literal("none") }),
]);
export type HealthCheck = z.infer<typeof HealthCheck>;

/** Restart policy applied by the agent with exponential backoff. */
export const RestartPolicy = z.enum(["always", "on-failure", "never"]);
export type RestartPolicy = z.infer<typeof RestartPolicy>;

/** Env: at most 1,000 keys, 256 KiB in total. */
export const Env = z
  .record(EnvKey, EnvValue)
  .refine((env) => Object.keys(env).length <= 1000, { message: "too many env vars" })
  .refine((env) => Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length, 0) <= 256 * 1024, {
    message: "env too large",
  });

/**
 * A persistent volume mounted into the instance: an ext4 filesystem of `sizeBytes` kept by the agent under its state
 * dir (created at first use, kept across container restarts, agent restarts and reboots, removed only by
 * `volume.destroy`). Writes past the size fail with ENOSPC inside the container.
 */
export const VolumeMount = z.strictObject({
  id: VolumeId,
  path: MountPath,
  sizeBytes: z
    .int()
    .min(16 * MiB)
    .max(1024 * 1024 * MiB),
});
export type VolumeMount = z.infer<typeof VolumeMount>;

/** One instance the node should run. */
export const InstanceSpec = z.strictObject({
  id: InstanceId,
  /**
   * The team owning the app: containers of one team share a host id range (other teams' ranges are disjoint) and may
   * connect to each other on a node (the network policy refuses other teams').
   */
  team: TeamId,
  app: AppName,
  release: ReleaseId,
  processType: ProcessType,
  image: ImageRef,
  /** argv; absent = the image's entrypoint + cmd. */
  command: z.array(CommandArg).min(1).max(256).optional(),
  env: Env.default({}),
  /** Port the process listens on inside the container (exported as PORT); mapped to a host port by the agent. */
  port: z.int().min(1).max(65_535).optional(),
  limits: Limits,
  healthCheck: HealthCheck.default({ type: "none" }),
  restartPolicy: RestartPolicy.default("always"),
  stopGraceMs: z.int().min(0).max(300_000).default(10_000),
  // Added within protocol v2 without a default: a spec that does not use it hashes exactly as before, so agents keep
  // their running containers when the control plane is upgraded.
  /** Persistent volumes (at most 4, distinct ids and paths). */
  volumes: z
    .array(VolumeMount)
    .min(1)
    .max(4)
    .refine((v) => new Set(v.map((m) => m.id)).size === v.length && new Set(v.map((m) => m.path)).size === v.length, {
      message: "duplicate volume id or path",
    })
    .optional(),
});
export type InstanceSpec = z.infer<typeof InstanceSpec>;
export type InstanceSpecInput = z.input<typeof InstanceSpec>;

/**
 * Who may connect to the instances of one app on the node (add-ons: only the apps they are attached to). Without a
 * rule an app's instances accept connections from every instance of their team (the team boundary always holds).
 * Kept out of InstanceSpec so that attaching or detaching changes the policy live, never the add-on's container.
 */
export const IngressRule = z.strictObject({
  team: TeamId,
  /** The app whose instances are restricted (an add-on's service app). */
  app: AppName,
  /** Apps of the same team whose instances may connect (the app's own instances always may). */
  from: z.array(AppName).max(1000),
});
export type IngressRule = z.infer<typeof IngressRule>;

/** The full desired state of one node; `generation` only grows, so a stale message can be ignored. */
export const DesiredState = z
  .strictObject({
    generation: z.int().min(0),
    instances: z.array(InstanceSpec).max(1000),
    /** Per-app ingress restrictions (additive: sent only to agents that registered with the "ingress" feature). */
    ingress: z.array(IngressRule).max(1000).optional(),
  })
  .refine((s) => new Set(s.instances.map((i) => i.id)).size === s.instances.length, {
    message: "duplicate instance id",
    path: ["instances"],
  });
export type DesiredState = z.infer<typeof DesiredState>;
