// PlatformHealth with stub probes: overall status, since, timeouts, caching, the public/admin views.
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { adminView, PlatformHealth, publicView } from "./platform-health.ts";
import type { ProbeResult } from "./types.ts";

const log = createLogger("silent");
const ok = (): Promise<ProbeResult> => Promise.resolve({ status: "ok", detail: "running" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("PlatformHealth", () => {
  it("is ok when all are ok, degraded when one is not, down only when the database is down", async () => {
    const h = new PlatformHealth(log);
    let registry: ProbeResult = { status: "ok", detail: "running" };
    let database: ProbeResult = { status: "ok", detail: "answering" };
    h.register("disk", ok);
    h.register("registry", () => Promise.resolve(registry));
    h.register("database", () => Promise.resolve(database));
    // Reported in the fixed order, not the order of registration.
    expect((await h.probe("registry"))?.status).toBe("ok");
    let r = await h.report();
    expect(r.components.map((c) => c.name)).toEqual(["database", "registry", "disk"]);
    expect(r.status).toBe("ok");
    await sleep(1_100);
    registry = { status: "restarting", detail: "exited; restarting", adminDetail: "at 12:00" };
    r = await h.report();
    expect(r.status).toBe("degraded");
    expect(publicView(r).components[1]).toEqual({
      name: "registry",
      status: "restarting",
      detail: "exited; restarting",
      since: expect.any(String),
    });
    expect(adminView(r).components[1]).toMatchObject({ detail: "at 12:00", restarts: null, lastExit: null });
    await sleep(1_100);
    database = { status: "down", detail: "not answering" };
    expect((await h.report()).status).toBe("down");
  });

  it("keeps since while the status stays, and moves it when the status changes", async () => {
    const h = new PlatformHealth(log);
    let status: ProbeResult["status"] = "ok";
    h.register("router", () => Promise.resolve({ status, detail: "x" }));
    const first = (await h.report()).components[0]!.since;
    await sleep(1_100);
    expect((await h.report()).components[0]!.since).toEqual(first);
    await sleep(1_100);
    status = "down";
    const changed = (await h.report()).components[0]!.since;
    expect(changed.getTime()).toBeGreaterThan(first.getTime());
  });

  it("caches for a moment and shares one round of probes between concurrent callers", async () => {
    const h = new PlatformHealth(log);
    let calls = 0;
    h.register("disk", async () => {
      calls++;
      await sleep(20);
      return { status: "ok", detail: "enough free space" };
    });
    await Promise.all([h.report(), h.report(), h.report()]);
    await h.report();
    expect(calls).toBe(1);
  });

  it("reports a probe that throws or hangs as down, with the reason for the admin only", async () => {
    const h = new PlatformHealth(log);
    h.register("registry", () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5000")));
    h.register("router", () => new Promise<ProbeResult>(() => undefined));
    const r = await h.report();
    expect(publicView(r).components).toEqual([
      { name: "registry", status: "down", detail: "not answering", since: expect.any(String) },
      { name: "router", status: "down", detail: "not answering", since: expect.any(String) },
    ]);
    expect(JSON.stringify(publicView(r))).not.toContain("127.0.0.1");
    expect(adminView(r).components[0]!.detail).toContain("ECONNREFUSED");
    expect(adminView(r).components[1]!.detail).toBe("the router check timed out");
  });
});
