import { spawn } from "node:child_process";
import crypto from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { findLeftovers, processAlive, stopLeftovers } from "./leftovers.ts";

const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
});

/** An idle process whose command line and environment carry a unique marker (what a leftover is recognized by). */
function sleeper(marker: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", marker], {
    env: { PATH: "/usr/bin:/bin", NODE_ENV: "test", ...env },
    stdio: "ignore",
  });
  children.push(child.pid!);
  return child;
}

describe("leftovers", () => {
  it("finds processes by every argv entry and environment entry, and nothing else", async () => {
    const marker = `berth-test-${crypto.randomBytes(4).toString("hex")}`;
    const a = sleeper(marker, { BERTH_STATE_DIR: "/x/a" });
    const b = sleeper(marker, { BERTH_STATE_DIR: "/x/b" });
    await new Promise((r) => setTimeout(r, 100));
    expect(findLeftovers({ argv: [marker] }).sort()).toEqual([a.pid, b.pid].sort());
    expect(findLeftovers({ argv: [marker], env: ["BERTH_STATE_DIR=/x/a"] })).toEqual([a.pid]);
    expect(findLeftovers({ argv: [marker, "not-there"] })).toEqual([]);
  });

  it("stops what matches and leaves the rest running", async () => {
    const marker = `berth-test-${crypto.randomBytes(4).toString("hex")}`;
    const keep = sleeper(`${marker}-keep`);
    const stop = sleeper(marker);
    const exited = new Promise((r) => stop.once("exit", r));
    await new Promise((r) => setTimeout(r, 100));
    expect(await stopLeftovers({ argv: [marker] }, "test process", createLogger("silent"), 2_000)).toEqual([stop.pid]);
    await exited;
    expect(processAlive(keep.pid!)).toBe(true);
  });
});
