// In-memory RuntimeBackend for control-plane and reconciler tests: same validation and state machine as the real
// one, no processes. Tests drive exits and failures through the `simulate*` and `failNext` hooks.
import type { InstanceStats } from "../protocol/notifications.ts";
import type { VolumeUsage } from "../protocol/methods.ts";
import type { ContainerConfigInput, ContainerInfo, RuntimeBackend, Signal, VolumeOps } from "./backend.ts";
import { RuntimeError } from "./errors.ts";
import { checkConfig, checkId, checkSignal } from "./validate.ts";

type Method = "create" | "start" | "stop" | "kill" | "delete";

interface FakeContainer {
  info: ContainerInfo;
  volumes: string[];
  memoryLimit: number;
  ticks: number;
}

const SIGNAL_NUMBERS: Record<Signal, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGTERM: 15,
};

/** A fake container engine; `images` lists the references create() accepts (all when omitted). */
export class FakeBackend implements RuntimeBackend {
  /** Every call in order, e.g. `create:web-1`, for assertions. */
  readonly calls: string[] = [];
  private readonly containers = new Map<string, FakeContainer>();
  private readonly failures = new Map<Method, RuntimeError>();
  /** Volumes made by create(), by id: their size limit (the fake writes nothing into them). */
  readonly volumeSizes = new Map<string, number>();
  private nextPid = 1000;
  private nextIp = 2;

  constructor(private readonly opts: { images?: readonly string[]; now?: () => Date } = {}) {}

  /** Makes the next call of `method` fail with `error`. */
  failNext(method: Method, error = new RuntimeError("failed", `injected ${method} failure`)): void {
    this.failures.set(method, error);
  }

  /**
   * Makes a running container exit as if its process ended with `exitCode`; undefined = stopped with the status not
   * known yet (conmon has not written its exit file), supplied later with `setExitCode`.
   */
  simulateExit(id: string, exitCode: number | undefined, opts: { oomKilled?: boolean } = {}): void {
    const c = this.get(id);
    if (c.info.status !== "running") throw new RuntimeError("conflict", `${id} is not running`);
    this.exit(c, exitCode, opts.oomKilled ?? false);
  }

  /** The exit status of a stopped container becomes known. */
  setExitCode(id: string, exitCode: number): void {
    this.get(id).info.exitCode = exitCode;
  }

  async create(input: ContainerConfigInput): Promise<ContainerInfo> {
    const config = checkConfig(input);
    this.enter("create", config.id);
    if (this.containers.has(config.id)) throw new RuntimeError("conflict", `container ${config.id} exists`);
    if (this.opts.images && !this.opts.images.includes(config.image)) {
      throw new RuntimeError("not_found", `image ${config.image} not found`);
    }
    const info: ContainerInfo = {
      id: config.id,
      app: config.app,
      release: config.release,
      processType: config.processType,
      status: "created",
      ip: `10.88.0.${this.nextIp++ % 250}`,
      ...(config.hostPort !== undefined ? { hostPort: config.hostPort } : {}),
      createdAt: (this.opts.now?.() ?? new Date()).toISOString(),
    };
    for (const v of config.volumes ?? []) if (!this.volumeSizes.has(v.id)) this.volumeSizes.set(v.id, v.sizeBytes);
    this.containers.set(config.id, {
      info,
      volumes: (config.volumes ?? []).map((v) => v.id),
      memoryLimit: config.limits.memoryBytes,
      ticks: 0,
    });
    return { ...info };
  }

  async start(id: string): Promise<void> {
    const c = this.get(this.enter("start", id));
    if (c.info.status !== "created") throw new RuntimeError("conflict", `${id} is ${c.info.status}, not created`);
    c.info.status = "running";
    c.info.pid = this.nextPid++;
  }

  async stop(id: string, graceMs: number): Promise<ContainerInfo> {
    const c = this.get(this.enter("stop", id));
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RuntimeError("invalid", "graceMs must be a non-negative integer");
    if (c.info.status === "running") this.exit(c, 128 + SIGNAL_NUMBERS.SIGTERM, false);
    else if (c.info.status === "created") this.exit(c, 128 + SIGNAL_NUMBERS.SIGKILL, false);
    return { ...c.info };
  }

  async kill(id: string, signal: Signal): Promise<void> {
    const sig = checkSignal(signal);
    const c = this.get(this.enter("kill", id));
    if (c.info.status === "stopped") throw new RuntimeError("conflict", `${id} is not running`);
    // Like a process without handlers: every allowed signal terminates it.
    this.exit(c, 128 + SIGNAL_NUMBERS[sig], false);
  }

  async delete(id: string): Promise<void> {
    this.enter("delete", id);
    this.containers.delete(id);
  }

  async state(id: string): Promise<ContainerInfo | null> {
    const c = this.containers.get(checkId(id));
    return c ? { ...c.info } : null;
  }

  async stats(id: string): Promise<InstanceStats> {
    const c = this.get(checkId(id));
    const running = c.info.status === "running";
    if (running) c.ticks++;
    return {
      instanceId: id,
      cpuNanos: c.ticks * 1_000_000,
      memoryBytes: running ? Math.min(c.memoryLimit, 1_048_576 * (1 + (c.ticks % 8))) : 0,
      memoryLimitBytes: c.memoryLimit,
      pids: running ? 1 : 0,
      netRxBytes: c.ticks * 100,
      netTxBytes: c.ticks * 50,
      blkReadBytes: 0,
      blkWriteBytes: 0,
    };
  }

  async list(): Promise<ContainerInfo[]> {
    return [...this.containers.values()].map((c) => ({ ...c.info })).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Volumes as the real backend reports them; destroy refuses one a container still mounts. */
  readonly volumes: VolumeOps = {
    list: async (): Promise<VolumeUsage[]> =>
      [...this.volumeSizes].map(([id, sizeBytes]) => ({ id, sizeBytes, usedBytes: 0, mounted: true })),
    destroy: async (id: string): Promise<boolean> => {
      this.calls.push(`volume.destroy:${id}`);
      const users = [...this.containers.values()].filter((c) => c.volumes.includes(id));
      if (users.length) throw new RuntimeError("conflict", `volume ${id} is mounted by ${users[0]?.info.id}`);
      return this.volumeSizes.delete(id);
    },
  };

  private enter(method: Method, id: string): string {
    checkId(id);
    this.calls.push(`${method}:${id}`);
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
    return id;
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new RuntimeError("not_found", `container ${id} not found`);
    return c;
  }

  private exit(c: FakeContainer, exitCode: number | undefined, oomKilled: boolean): void {
    c.info.status = "stopped";
    if (exitCode === undefined) delete c.info.exitCode;
    else c.info.exitCode = exitCode;
    if (oomKilled) c.info.oomKilled = true;
    delete c.info.pid;
  }
}
