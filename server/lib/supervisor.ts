// Keeps a child process running: restarts it with doubling backoff when it exits, stops it on request, and reports
// its state (up, waiting to restart, stopped; restarts; last exit) for platform health (server/health/).
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "../logger.ts";

export interface SupervisedSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** First restart delay; doubles per quick exit up to MAX_BACKOFF_MS. */
export const MIN_BACKOFF_MS = 250;
/** Longest wait between restarts of a crash-looping process: a component is back within seconds once it can run. */
export const MAX_BACKOFF_MS = 4_000;
/** A process that ran this long counts as stable: its next exit restarts it after MIN_BACKOFF_MS again. */
export const STABLE_AFTER_MS = 10_000;

export interface SupervisorState {
  /** up: a child runs; restarting: it exited and the next start is scheduled; stopped: stop() was called (or never started). */
  phase: "up" | "restarting" | "stopped";
  /** Restarts after an exit since start(). */
  restarts: number;
  /** When the current child started (or the last one, while restarting). */
  startedAt: Date | null;
  lastExit: { at: Date; code: number | null; signal: string | null } | null;
  /** When the next start is due (phase restarting). */
  restartAt: Date | null;
}

const running = new Set<Supervisor>();

/** Stops every supervised process of this process (used when a signal arrives before normal shutdown is wired). */
export async function stopAllSupervisors(): Promise<void> {
  await Promise.all([...running].map((sup) => sup.stop()));
}

export interface SupervisorTiming {
  minBackoffMs: number;
  maxBackoffMs: number;
  stableAfterMs: number;
}

const DEFAULT_TIMING: SupervisorTiming = {
  minBackoffMs: MIN_BACKOFF_MS,
  maxBackoffMs: MAX_BACKOFF_MS,
  stableAfterMs: STABLE_AFTER_MS,
};

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopped = true;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private restarts = 0;
  private lastExit: SupervisorState["lastExit"] = null;
  private restartAt = 0;

  constructor(
    private readonly spec: SupervisedSpec,
    private readonly log: Logger,
    /** Tests shorten these. */
    private readonly timing: SupervisorTiming = DEFAULT_TIMING,
  ) {
    this.backoffMs = timing.minBackoffMs;
  }

  /** Starts the process (and keeps restarting it until stop()). */
  start(): void {
    this.stopped = false;
    running.add(this);
    this.spawnOnce();
  }

  /** Process id of the running child, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the supervised process is doing now. */
  state(): SupervisorState {
    const phase = this.stopped ? "stopped" : this.child?.pid !== undefined ? "up" : "restarting";
    return {
      phase,
      restarts: this.restarts,
      startedAt: this.startedAt ? new Date(this.startedAt) : null,
      lastExit: this.lastExit,
      restartAt: phase === "restarting" && this.restartAt ? new Date(this.restartAt) : null,
    };
  }

  private spawnOnce(): void {
    const { command, args, env, cwd, name } = this.spec;
    this.startedAt = Date.now();
    this.restartAt = 0;
    // Not runTool: a supervised child is long-running (no time limit or output cap); its exit is watched here.
    const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const forward = (stream: "stdout" | "stderr") => (d: Buffer) => {
      for (const line of d.toString().split("\n"))
        if (line.trim()) this.log.debug({ component: name, stream }, line.slice(0, 2000));
    };
    child.stdout?.on("data", forward("stdout"));
    child.stderr?.on("data", forward("stderr"));
    let exited = false;
    const onExit = (code: number | null, signal: string | null) => {
      if (exited) return;
      exited = true;
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      this.lastExit = { at: new Date(), code, signal };
      // A process that ran for a while gets a fresh backoff; a crash loop backs off up to MAX_BACKOFF_MS.
      if (Date.now() - this.startedAt > this.timing.stableAfterMs) this.backoffMs = this.timing.minBackoffMs;
      this.log.warn({ component: name, code, signal, restartInMs: this.backoffMs }, "process exited; restarting");
      this.restartAt = Date.now() + this.backoffMs;
      this.restartTimer = setTimeout(() => {
        this.restarts++;
        this.spawnOnce();
      }, this.backoffMs);
      this.restartTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, this.timing.maxBackoffMs);
    };
    child.on("error", (err) => {
      this.log.error({ err, component: name }, "cannot start process");
      // A spawn failure (binary missing) emits no "exit": retried like a crash.
      if (child.pid === undefined) onExit(null, null);
    });
    // "exit", not "close": grandchildren that inherited the pipes (the agent's conmon) must not delay the restart.
    child.on("exit", onExit);
  }

  /** Stops the process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    running.delete(this);
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}
