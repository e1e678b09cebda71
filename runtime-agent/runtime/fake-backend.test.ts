import { describe, expect, it } from "vitest";
import type { ContainerConfigInput } from "./backend.ts";
import { isRuntimeError } from "./errors.ts";
import { FakeBackend } from "./fake-backend.ts";

const config: ContainerConfigInput = {
  id: "web-1",
  team: "team-a",
  app: "shop",
  release: "v1",
  processType: "web",
  image: "localhost/shop:v1",
  port: 5000,
  hostPort: 31000,
  limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
};

async function rejectsWith(p: Promise<unknown>, code: string) {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isRuntimeError(err) && err.code).toBe(code);
}

describe("FakeBackend", () => {
  it("runs the create -> start -> stop -> delete lifecycle", async () => {
    const b = new FakeBackend({ now: () => new Date("2026-01-01T00:00:00Z") });
    const created = await b.create(config);
    expect(created).toMatchObject({
      id: "web-1",
      status: "created",
      hostPort: 31000,
      createdAt: "2026-01-01T00:00:00.000Z",
    });
    await b.start("web-1");
    expect(await b.state("web-1")).toMatchObject({ status: "running", pid: expect.any(Number) });
    const s1 = await b.stats("web-1");
    const s2 = await b.stats("web-1");
    expect(s2.cpuNanos).toBeGreaterThan(s1.cpuNanos);
    expect(s2.memoryLimitBytes).toBe(64 * 1024 * 1024);
    expect(await b.stop("web-1", 1000)).toMatchObject({ status: "stopped", exitCode: 143 });
    expect((await b.list()).map((c) => c.id)).toEqual(["web-1"]);
    await b.delete("web-1");
    await b.delete("web-1"); // idempotent
    expect(await b.state("web-1")).toBeNull();
    expect(b.calls).toEqual(["create:web-1", "start:web-1", "stop:web-1", "delete:web-1", "delete:web-1"]);
  });

  it("reports kills, simulated crashes and OOM kills", async () => {
    const b = new FakeBackend();
    await b.create(config);
    await b.start("web-1");
    await b.kill("web-1", "SIGKILL");
    expect(await b.state("web-1")).toMatchObject({ status: "stopped", exitCode: 137 });
    await b.create({ ...config, id: "web-2" });
    await b.start("web-2");
    b.simulateExit("web-2", 137, { oomKilled: true });
    expect(await b.state("web-2")).toMatchObject({ exitCode: 137, oomKilled: true });
    await rejectsWith(b.kill("web-2", "SIGTERM"), "conflict");
  });

  it("rejects what the real backend rejects", async () => {
    const b = new FakeBackend({ images: ["localhost/shop:v1"] });
    await rejectsWith(b.create({ ...config, id: "../etc" }), "invalid");
    await rejectsWith(b.create({ ...config, privileged: true } as ContainerConfigInput), "invalid");
    await rejectsWith(b.create({ ...config, env: { "A-B": "x" } }), "invalid");
    await rejectsWith(b.create({ ...config, port: undefined }), "invalid"); // hostPort without port
    await rejectsWith(b.create({ ...config, image: "localhost/other:v1" }), "not_found");
    await b.create(config);
    await rejectsWith(b.create(config), "conflict");
    await rejectsWith(b.kill("web-1", "SIGSTOP" as never), "invalid");
    await rejectsWith(b.start("nope"), "not_found");
    await rejectsWith(b.state("x/y"), "invalid");
  });

  it("injects one failure per failNext", async () => {
    const b = new FakeBackend();
    b.failNext("create");
    await rejectsWith(b.create(config), "failed");
    await b.create(config);
    expect(await b.state("web-1")).not.toBeNull();
  });
});
