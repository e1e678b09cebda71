// The supervisor with real child processes (`sleep`): kill -9 is restarted within the backoff, the state says what
// happened (phase, restarts, last exit), a binary that cannot start is retried, stop() ends it for good.
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { MAX_BACKOFF_MS, MIN_BACKOFF_MS, Supervisor, type SupervisorTiming } from "./supervisor.ts";

const log = createLogger("silent");
const sups: Supervisor[] = [];

async function until<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function supervise(command: string, args: string[], timing?: SupervisorTiming): Supervisor {
  const s = new Supervisor({ name: "test", command, args }, log, timing);
  sups.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(sups.splice(0).map((s) => s.stop(1000)));
});

describe("Supervisor", () => {
  it("caps the backoff at a few seconds", () => {
    expect(MIN_BACKOFF_MS).toBeLessThanOrEqual(500);
    expect(MAX_BACKOFF_MS).toBeLessThanOrEqual(5_000);
  });

  it("restarts a process killed with SIGKILL and reports the restart and its last exit", async () => {
    const s = supervise("sleep", ["300"]);
    expect(s.state()).toMatchObject({ phase: "stopped", restarts: 0, lastExit: null });
    s.start();
    const first = await until("started", () => s.pid);
    expect(s.state()).toMatchObject({ phase: "up", restarts: 0, lastExit: null });
    process.kill(first, "SIGKILL");
    await until("exit seen", () => s.state().phase === "restarting");
    expect(s.state().restartAt).not.toBeNull();
    const second = await until("restarted", () => s.pid !== first && s.pid);
    expect(second).not.toBe(first);
    const st = s.state();
    expect(st).toMatchObject({ phase: "up", restarts: 1, lastExit: { code: null, signal: "SIGKILL" } });
    expect(st.restartAt).toBeNull();
  });

  it("doubles the wait for a crash loop", async () => {
    const s = supervise("sh", ["-c", "exit 3"]);
    const delays = new Set<number>();
    s.start();
    await until(
      "three restarts",
      () => {
        const st = s.state();
        if (st.restartAt && st.lastExit)
          delays.add(Math.round((st.restartAt.getTime() - st.lastExit.at.getTime()) / 50) * 50);
        return st.restarts >= 3;
      },
      10_000,
    );
    expect([...delays].slice(0, 3)).toEqual([MIN_BACKOFF_MS, MIN_BACKOFF_MS * 2, MIN_BACKOFF_MS * 4]);
    expect(s.state().lastExit).toMatchObject({ code: 3, signal: null });
  });

  it("caps the wait, and starts over at the shortest wait after a stable run", async () => {
    const delaysOf = async (s: Supervisor, restarts: number) => {
      const delays: number[] = [];
      let seen = "";
      s.start();
      await until(`${restarts} restarts`, () => {
        const st = s.state();
        const key = `${st.lastExit?.at.getTime()}`;
        if (st.restartAt && st.lastExit && key !== seen) {
          seen = key;
          delays.push(st.restartAt.getTime() - st.lastExit.at.getTime());
        }
        return st.restarts >= restarts;
      });
      return delays;
    };
    // Waits long enough that a 10 ms poll sees every exit even on a loaded machine.
    const timing = { minBackoffMs: 100, maxBackoffMs: 400, stableAfterMs: 500 };
    // Quick exits: 100, 200, 400, then capped at 400.
    const quick = await delaysOf(supervise("sh", ["-c", "exit 1"], timing), 5);
    expect(quick.slice(0, 5).map((d) => Math.round(d / 100) * 100)).toEqual([100, 200, 400, 400, 400]);
    // Runs longer than stableAfterMs: every restart waits the shortest time.
    const stable = await delaysOf(supervise("sh", ["-c", "sleep 0.7; exit 1"], timing), 3);
    for (const d of stable.slice(0, 3)) expect(d).toBeLessThan(150);
  });

  it("retries a command that cannot be started", async () => {
    const s = supervise("/nonexistent/berth-no-such-binary", []);
    s.start();
    await until("a retry", () => s.state().restarts >= 1);
    expect(s.pid).toBeUndefined();
  });

  it("stops for good", async () => {
    const s = supervise("sleep", ["300"]);
    s.start();
    const pid = await until("started", () => s.pid);
    await s.stop(1000);
    expect(s.state().phase).toBe("stopped");
    await new Promise((r) => setTimeout(r, MIN_BACKOFF_MS * 3));
    expect(s.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
  });
});
