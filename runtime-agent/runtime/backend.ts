// The container engine behind one interface: the real OCI backend (conmon + runc + CNI + buildah) and an
// in-memory fake for control-plane tests implement it. Everything above this layer talks only to RuntimeBackend.
import { z } from "zod";
import { Env, type IngressRule, Limits, VolumeMount } from "../protocol/desired-state.ts";
import { AppName, CommandArg, ImageRef, InstanceId, ProcessType, ReleaseId, TeamId } from "../protocol/names.ts";
import type { VolumeUsage } from "../protocol/methods.ts";
import type { InstanceStats } from "../protocol/notifications.ts";
import type { ExecProcess } from "./exec-process.ts";

/** What a backend needs to create one container; parsed again by every backend (defence in depth). */
export const ContainerConfig = z
  .strictObject({
    id: InstanceId,
    /** Owning team: selects the user-namespace id range and the network policy's group. */
    team: TeamId,
    app: AppName,
    release: ReleaseId,
    processType: ProcessType,
    image: ImageRef,
    command: z.array(CommandArg).min(1).max(256).optional(),
    env: Env.default({}),
    /** Container port (exported as PORT). */
    port: z.int().min(1).max(65_535).optional(),
    /** Host port the container port is published on (needs `port`). */
    hostPort: z.int().min(1).max(65_535).optional(),
    limits: Limits,
    /** Persistent volumes of the team bind-mounted at their paths (see volumes.ts). */
    volumes: z.array(VolumeMount).max(4).optional(),
  })
  .refine((c) => c.hostPort === undefined || c.port !== undefined, { message: "hostPort needs port" })
  .refine(
    (c) =>
      new Set(c.volumes?.map((v) => v.id)).size === (c.volumes?.length ?? 0) &&
      new Set(c.volumes?.map((v) => v.path)).size === (c.volumes?.length ?? 0),
    { message: "duplicate volume id or path" },
  );
export type ContainerConfig = z.infer<typeof ContainerConfig>;
export type ContainerConfigInput = z.input<typeof ContainerConfig>;

/** Lifecycle as the OCI runtime sees it. */
export type ContainerStatus = "created" | "running" | "stopped";

/** What a backend knows about one container. */
export interface ContainerInfo {
  id: string;
  app: string;
  release: string;
  processType: string;
  status: ContainerStatus;
  /** Host pid of the container's init process while it runs. */
  pid?: number;
  /** Container address on the node bridge. */
  ip?: string;
  hostPort?: number;
  exitCode?: number;
  /** True when the kernel OOM killer hit the container. */
  oomKilled?: boolean;
  /** Path of the k8s-file log (absent in the fake). */
  logPath?: string;
  createdAt: string;
}

/** Signals the control plane may ask for; anything else is rejected. */
export const Signal = z.enum(["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]);
export type Signal = z.infer<typeof Signal>;

/** The persistent volumes of one node (created by `create()` of the first container that mounts them). */
export interface VolumeOps {
  /** Every volume on the node with its size and usage. */
  list(): Promise<VolumeUsage[]>;
  /** Deletes a volume and its data; RuntimeError `conflict` while a container of the node mounts it. */
  destroy(id: string): Promise<boolean>;
  /** A tar archive of the volume's files on the process's stdout (volume-archive.ts); absent: not supported. */
  archive?(id: string, team: string): Promise<ExecProcess>;
  /** Replaces the volume's files with the tar archive written to the process's stdin (volume-archive.ts). */
  extract?(id: string, team: string): Promise<ExecProcess>;
}

/** The container engine of one node. All methods validate ids before using them. */
export interface RuntimeBackend {
  /** Prepares image, rootfs, network and bundle and creates the container; its process waits for start(). */
  create(config: ContainerConfigInput): Promise<ContainerInfo>;
  /** Starts a created container. */
  start(id: string): Promise<void>;
  /** Sends SIGTERM, then SIGKILL after graceMs; resolves once the container has exited. */
  stop(id: string, graceMs: number): Promise<ContainerInfo>;
  /** Sends one signal to the container's init process. */
  kill(id: string, signal: Signal): Promise<void>;
  /** Removes the container and everything created for it (process, rootfs, network, cgroup); idempotent. */
  delete(id: string): Promise<void>;
  /** The container's current state, or null when this backend does not know it. */
  state(id: string): Promise<ContainerInfo | null>;
  /** Resource usage from the cgroup and the network namespace. */
  stats(id: string): Promise<InstanceStats>;
  /** Every container this backend manages, in id order. */
  list(): Promise<ContainerInfo[]>;
  /**
   * Starts a process inside a running container with the container's own user, limits and privileges (never more);
   * throws RuntimeError("conflict") when it is not running. Optional: backends without it refuse exec sessions.
   */
  exec?(id: string, opts: ExecRequest): Promise<ExecProcess>;
  /** Persistent volumes; absent on backends without them. */
  readonly volumes?: VolumeOps;
  /**
   * Per-app ingress restrictions of the node's network policy (DesiredState.ingress), applied without touching any
   * container. Optional: backends without a network policy ignore them.
   */
  setIngress?(rules: readonly IngressRule[]): Promise<void>;
}

/** What to run in a container, and whether it gets a terminal of `cols` x `rows`. */
export interface ExecRequest {
  command: readonly string[];
  tty: boolean;
  cols: number;
  rows: number;
}
