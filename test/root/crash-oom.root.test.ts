// Crash loops and OOM kills of real containers (root tier: real agent, runc, conmon, cgroups): a process that exits
// at once is restarted on the documented backoff schedule (0, 1 s, 2 s, 4 s, ... capped at 5 min), measured from the
// agent's own events; an instance the kernel kills for memory shows `OOM killed` in `berth ps` and on the activity
// timeline. Timings are asserted as lower bounds and ordering only: a loaded machine makes everything slower.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import { restartDelayMs } from "../../runtime-agent/agent/backoff.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { runBerth } from "../helpers/cli.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootStack, type RootStack } from "../helpers/root-stack.ts";
import { until } from "../helpers/until.ts";

const APP = "crashy";
// Doubles a string until the 32 MB limit is hit: the kernel's OOM killer ends it (exit 137).
const HOG = `awk 'BEGIN { s = "x"; while (1) s = s s }'`;
const PROCFILE = `web: httpd -f -p 5000 -h /www\ncrasher: sh -c 'echo crashing; exit 3'\nhog: ${HOG}\n`;

let stack: RootStack;
const events: InstanceEvent[] = [];

describeRoot("crash loops and OOM kills (real agent, runc, cgroups)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    stack = await bootRootStack(APP, busyboxWebApp({ Procfile: PROCFILE }), {
      email: "crashy@example.com",
      node: "crashy-node",
    });
    stack.srv.cp.services.scheduler.on("instance", (app: string, e: InstanceEvent) => {
      if (app === APP) events.push(e);
    });
    const push = await stack.push();
    expect(push.code, push.out).toBe(0);
    await stack.running("web", 1, 1);
  }, 300_000);

  afterAll(async () => {
    if (!stack) return;
    expect(await stack.close()).toEqual([]);
  }, 180_000);

  it("a crash-looping instance restarts on the backoff schedule, never sooner", async () => {
    const scaled = await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "crasher", quantity: 1 }],
    });
    expect(scaled.status).toBe(200);
    const t0 = Date.now();
    const id = await until(
      "a crasher instance",
      async () => (await stack.ps()).find((i) => i.processType === "crasher")?.id,
    );
    const mine = () => events.filter((e) => e.instanceId === id);
    // Four crashes: restarts after 0, 1, 2 and 4 s by the schedule.
    await until("four restarts", () => mine().filter((e) => e.state === "starting").length >= 5, 120_000);
    const elapsed = Date.now() - t0;
    const list = mine();
    const delays: number[] = [];
    for (let k = 0; k < 4; k++) {
      const crashed = list.filter((e) => e.state === "crashed")[k] as InstanceEvent;
      const next = list.filter((e) => e.state === "starting")[k + 1] as InstanceEvent;
      expect(crashed.exitCode).toBe(3);
      expect(crashed.restarts).toBe(k + 1);
      delays.push(Date.parse(next.at) - Date.parse(crashed.at));
    }
    // Never sooner than the schedule (a little slack for the agent's millisecond timestamps), and growing.
    for (let k = 0; k < 4; k++) expect(delays[k]).toBeGreaterThanOrEqual(restartDelayMs(k) - 5);
    for (let k = 1; k < 3; k++) expect(delays[k + 1]).toBeGreaterThan(delays[k] as number);
    // The host stays calm: within the time it took, the schedule allows at most this many restarts.
    const allowed = [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((n) => {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += restartDelayMs(k);
      return sum <= elapsed;
    }).length;
    const restarts = (await stack.ps()).find((i) => i.id === id)?.restarts ?? 0;
    expect(restarts).toBeLessThanOrEqual(allowed);
    // `berth ps` says how it ends.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-crashy-home-"));
    try {
      const ps = await runBerth(["ps", "-a", APP], { url: stack.srv.url, token: stack.token, home });
      expect(ps.code, ps.stderr).toBe(0);
      expect(ps.stdout).toMatch(new RegExp(`${id} +crasher +\\S+ +v1 .* 3 \\(exited\\)`));
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "crasher", quantity: 0 }] });
    await until("crasher gone", async () => (await stack.ps()).every((i) => i.processType !== "crasher"), 60_000);
  }, 240_000);

  it("an instance killed for memory shows OOM killed in berth ps and on the activity timeline", async () => {
    const scaled = await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "hog", quantity: 1, memoryMb: 32 }],
    });
    expect(scaled.status).toBe(200);
    const hog = await until(
      "hog OOM killed",
      async () => (await stack.ps()).find((i) => i.processType === "hog" && i.reason === "oom-killed"),
      120_000,
    );
    expect(hog.exitCode).toBe(137);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-crashy-home-"));
    try {
      // Also after its restart (the start of a restart must not hide why it ended).
      await until(
        "hog restarted",
        async () => ((await stack.ps()).find((i) => i.id === hog.id)?.restarts ?? 0) >= 2,
        60_000,
      );
      const ps = await runBerth(["ps", "-a", APP], { url: stack.srv.url, token: stack.token, home });
      expect(ps.code, ps.stderr).toBe(0);
      expect(ps.stdout).toMatch(new RegExp(`${hog.id} +hog .* 137 \\(OOM killed\\)`));
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    const activity = await until("OOM on the timeline", async () => {
      const r = await stack.owner.req<{ action: string; target: string; summary: string }[]>(
        "GET",
        `/api/v1/apps/${APP}/activity`,
      );
      return r.body.find((a) => a.action === "instance.oom-killed" && a.target === hog.id);
    });
    expect(activity.summary).toBe(`hog instance ${hog.id} was OOM killed (over its 32 MB); restarting it`);
    await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "hog", quantity: 0 }] });
  }, 240_000);
});
