// Keeps a child process running: restarts it with doubling backoff when it exits, stops it on request.
import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "../logger.ts";

export interface SupervisedSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const running = new Set<Supervisor>();

/** Stops every supervised process of this process (used when a signal arrives before normal shutdown is wired). */
export async function stopAllSupervisors(): Promise<void> {
  await Promise.all([...running].map((sup) => sup.stop()));
}

export class Supervisor {
  private child: ChildProcess | undefined;
  private stopped = false;
  private backoffMs = 500;
  private restartTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly spec: SupervisedSpec,
    private readonly log: Logger,
  ) {}

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

  private spawnOnce(): void {
    const { command, args, env, cwd, name } = this.spec;
    this.startedAt = Date.now();
    const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const forward = (stream: "stdout" | "stderr") => (d: Buffer) => {
      for (const line of d.toString().split("\n")) if (line.trim()) this.log.debug({ component: name, stream }, line.slice(0, 2000));
    };
    child.stdout?.on("data", forward("stdout"));
    child.stderr?.on("data", forward("stderr"));
    child.on("error", (err) => this.log.error({ err, component: name }, "cannot start process"));
    child.on("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      // A process that ran for a while gets a fresh backoff; a crash loop backs off up to 30 s.
      if (Date.now() - this.startedAt > 60_000) this.backoffMs = 500;
      this.log.warn({ component: name, code, signal, restartInMs: this.backoffMs }, "process exited; restarting");
      this.restartTimer = setTimeout(() => this.spawnOnce(), this.backoffMs);
      this.restartTimer.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
    });
  }

  /** Stops the process: SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopped = true;
    running.delete(this);
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null) return;
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
