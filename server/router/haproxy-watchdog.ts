// Keeps HAProxy alive while the control plane runs: when its master is gone or its Runtime API stops answering, the
// router relaunches it from the files it last wrote (the latest routes and certificates). Restarts are counted for
// platform health.
import type { Logger } from "../logger.ts";
import type { ProcessInfo } from "../health/types.ts";
import type { Semaphore } from "../lib/concurrency.ts";
import { workerPid, type HaproxyProcess } from "./haproxy-process.ts";

/**
 * The master process is looked for every 100 ms (a pid file and /proc read: a dead HAProxy refuses connections until
 * it is back, so noticing fast matters) and the Runtime API is asked every 5th time (0.5 s); 10 unanswered asks in a
 * row count as dead.
 */
const WATCH_INTERVAL_MS = 100;
const ANSWER_CHECK_EVERY = 5;
// 10, not fewer: with nbthread 1 a saturated worker answers the Runtime API late, and a false "dead" verdict would
// restart a router that is only busy (seen once in bench/router.ts under load 20).
const UNANSWERED_LIMIT = 10;

export interface WatchdogOptions {
  proc: HaproxyProcess;
  /** Runtime API socket. */
  admin: string;
  /** The router's lock: a check never runs during a route change, reload or certificate load. */
  lock: Semaphore;
  /** False once the router stopped or detached. */
  active: () => boolean;
  /** Stops what is left of HAProxy and starts it again from the written files. */
  relaunch: () => Promise<void>;
  log: Logger;
}

export class HaproxyWatchdog {
  /** Restarts, and when HAProxy was last found gone (platform health). */
  readonly info: ProcessInfo = { restarts: 0, startedAt: null, lastExit: null };
  private timer: NodeJS.Timeout | undefined;
  private ticks = 0;
  private unanswered = 0;

  constructor(private readonly o: WatchdogOptions) {}

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.check(), WATCH_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<void> {
    if (!this.o.active() || this.o.lock.waiting > 0) return;
    await this.o.lock.run(async () => {
      if (!this.o.active()) return;
      const master = this.o.proc.masterPid();
      if (master !== undefined) {
        if (++this.ticks % ANSWER_CHECK_EVERY !== 0) return;
        if ((await workerPid(this.o.admin)) !== undefined) {
          this.unanswered = 0;
          return;
        }
        if (++this.unanswered < UNANSWERED_LIMIT) return;
      }
      this.unanswered = 0;
      this.info.lastExit = { at: new Date(), code: null, signal: master === undefined ? "gone" : "not answering" };
      this.o.log.warn({ master }, "haproxy is gone or not answering; restarting it with the latest routes");
      try {
        await this.o.relaunch();
        this.info.restarts++;
        this.info.startedAt = new Date();
        this.o.log.warn({ pid: this.o.proc.masterPid() }, "haproxy restarted with the latest routes");
      } catch (err) {
        this.o.log.error(
          { err: err instanceof Error ? err.message : String(err) },
          "restarting haproxy failed; retrying",
        );
      }
    });
  }
}
