import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../log.ts";
import { DesiredState, type InstanceSpecInput } from "../protocol/desired-state.ts";
import type { InstanceEvent } from "../protocol/notifications.ts";
import { FakeBackend } from "../runtime/fake-backend.ts";
import type { Prober } from "./health.ts";
import { Reconciler, type ReconcilerOptions } from "./reconciler.ts";
import { emptyState, loadState } from "./state-file.ts";

const inst = (id: string, patch: Partial<InstanceSpecInput> = {}): InstanceSpecInput => ({
  id,
  team: "team-a",
  app: "shop",
  release: "v1",
  processType: "web",
  image: "localhost/busybox:latest",
  command: ["/bin/sh", "-c", "sleep 1000"],
  limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
  ...patch,
});
const desired = (generation: number, ...instances: InstanceSpecInput[]) =>
  DesiredState.parse({ generation, instances });

let dir: string;
let clock: number;
let backend: FakeBackend;
let events: InstanceEvent[];
let healthy: boolean;
const probe: Prober = async () => healthy;

function make(initial = emptyState(), extra: Partial<ReconcilerOptions> = {}) {
  return new Reconciler({
    backend,
    probe,
    log: silentLogger(),
    stateFile: path.join(dir, "agent-state.json"),
    initial,
    hostPorts: { min: 20_000, max: 20_009 },
    onEvent: (e) => events.push(e),
    now: () => clock,
    ...extra,
  });
}
/** Applies and waits for the background pass to finish. */
async function settle(r: Reconciler, state: DesiredState) {
  const out = await r.apply(state);
  await r.tick();
  return out;
}
const states = (id: string) => events.filter((e) => e.instanceId === id).map((e) => e.state);

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-rec-"));
  clock = 1_000_000;
  backend = new FakeBackend();
  events = [];
  healthy = true;
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("Reconciler", () => {
  it("starts the desired instances once; the same state again does nothing", async () => {
    const r = make();
    const state = desired(1, inst("a", { port: 5000, healthCheck: { type: "tcp" } }), inst("b"));
    expect(await settle(r, state)).toEqual({ generation: 1, changed: true });
    expect([...backend.calls].sort()).toEqual(["create:a", "create:b", "start:a", "start:b"]);
    expect(states("a")).toEqual(["starting", "running"]);
    expect(events.find((e) => e.instanceId === "a")?.hostPort).toBe(20_000);
    const before = events.length;
    expect(await settle(r, state)).toEqual({ generation: 1, changed: false });
    expect(await settle(r, desired(2, inst("a", { port: 5000, healthCheck: { type: "tcp" } }), inst("b")))).toEqual({
      generation: 2,
      changed: false,
    });
    await r.tick();
    expect(backend.calls).toHaveLength(4);
    expect(events).toHaveLength(before);
    expect(r.observed().map((o) => [o.id, o.state, o.generation])).toEqual([
      ["a", "running", 2],
      ["b", "running", 2],
    ]);
  });

  it("ignores a stale generation", async () => {
    const r = make();
    await settle(r, desired(5, inst("a")));
    expect(await settle(r, desired(4))).toEqual({ generation: 5, changed: false });
    expect((await backend.list()).map((c) => c.id)).toEqual(["a"]);
  });

  it("stops instances no longer desired and replaces changed ones", async () => {
    const r = make();
    await settle(r, desired(1, inst("a"), inst("b")));
    backend.calls.length = 0;
    await settle(r, desired(2, inst("a", { env: { X: "1" } })));
    expect(backend.calls.sort()).toEqual(["create:a", "delete:a", "delete:b", "start:a", "stop:a", "stop:b"].sort());
    expect(states("b")).toEqual(["starting", "running", "stopping", "stopped"]);
    expect((await backend.list()).map((c) => c.id)).toEqual(["a"]);
  });

  it("stays starting until healthy, and crashes an instance that never gets healthy", async () => {
    healthy = false;
    const r = make();
    const check = { type: "tcp" as const, startTimeoutMs: 5_000 };
    await settle(r, desired(1, inst("a", { port: 5000, healthCheck: check })));
    expect(states("a")).toEqual(["starting"]);
    healthy = true;
    await r.tick();
    expect(states("a")).toEqual(["starting", "running"]);
    backend.simulateExit("a", 1);
    healthy = false;
    await r.tick(); // crash observed, immediate restart scheduled
    await r.tick(); // restarted, unhealthy
    clock += 6_000;
    await r.tick();
    const crash = events.at(-1);
    expect(crash).toMatchObject({ state: "crashed", reason: "health-check-failed", restarts: 2 });
  });

  it("restarts crashed instances with exponential backoff, reports exit code and OOM kills", async () => {
    const r = make();
    await settle(r, desired(1, inst("a")));
    backend.simulateExit("a", 3);
    await r.tick();
    expect(events.at(-1)).toMatchObject({ state: "crashed", exitCode: 3, reason: "exited", restarts: 1 });
    await r.tick(); // first restart is immediate
    expect(states("a").slice(-2)).toEqual(["starting", "running"]);
    backend.simulateExit("a", 137, { oomKilled: true });
    await r.tick();
    expect(events.at(-1)).toMatchObject({ state: "crashed", exitCode: 137, reason: "oom-killed", restarts: 2 });
    backend.calls.length = 0;
    await r.tick();
    expect(backend.calls).toEqual([]); // waiting 1 s
    clock += 1_000;
    await r.tick();
    expect(backend.calls).toEqual(["create:a", "start:a"]);
    backend.simulateExit("a", 1);
    await r.tick();
    expect(events.at(-1)?.message).toBe("restart in 2000 ms");
    // Ten minutes healthy start the backoff over.
    clock += 2_000;
    await r.tick();
    clock += 10 * 60 * 1000;
    await r.tick();
    backend.simulateExit("a", 1);
    await r.tick();
    expect(events.at(-1)?.message).toBe("restart in 0 ms");
  });

  it("waits for an exit status that is not known yet, then reports it (or gives up after a while)", async () => {
    const r = make();
    await settle(r, desired(1, inst("a", { restartPolicy: "never" }), inst("b", { restartPolicy: "never" })));
    backend.simulateExit("a", undefined);
    backend.simulateExit("b", undefined);
    await r.tick();
    expect(states("a").at(-1)).toBe("running"); // not handled yet: the container (and its status) is kept
    expect((await backend.list()).map((c) => c.id).sort()).toEqual(["a", "b"]);
    backend.setExitCode("a", 7);
    clock += 1_000;
    await r.tick();
    expect(events.filter((e) => e.instanceId === "a").at(-1)).toMatchObject({ state: "crashed", exitCode: 7 });
    expect(states("b").at(-1)).toBe("running");
    clock += 5_000;
    await r.tick();
    const b = events.filter((e) => e.instanceId === "b").at(-1);
    expect(b?.state).toBe("crashed");
    expect(b).not.toHaveProperty("exitCode");
    expect(await backend.list()).toEqual([]);
  });

  it("honours restart policies never and on-failure", async () => {
    const r = make();
    await settle(r, desired(1, inst("a", { restartPolicy: "never" }), inst("b", { restartPolicy: "on-failure" })));
    backend.simulateExit("a", 1);
    backend.simulateExit("b", 0);
    await r.tick();
    await r.tick();
    expect(states("a").at(-1)).toBe("crashed");
    expect(states("b").at(-1)).toBe("stopped");
    expect(await backend.list()).toEqual([]);
  });

  it("persists its state and re-adopts running containers after a restart; exits while down are reported", async () => {
    const r1 = make();
    await settle(r1, desired(1, inst("a"), inst("b")));
    const pidA = (await backend.state("a"))?.pid;
    backend.simulateExit("b", 2); // the agent is "down" now
    backend.calls.length = 0;
    events = [];
    const saved = await loadState(path.join(dir, "agent-state.json"));
    expect(saved.desired.generation).toBe(1);
    const r2 = make(saved);
    await r2.tick();
    expect(backend.calls).toEqual(["delete:b"]);
    expect((await backend.state("a"))?.pid).toBe(pidA);
    expect(states("a")).toEqual([]);
    expect(events[0]).toMatchObject({ instanceId: "b", state: "crashed", exitCode: 2 });
    await r2.tick();
    expect(states("b").slice(-2)).toEqual(["starting", "running"]);
  });

  it("after an upgrade from an older protocol keeps every container until the control plane sends a desired state", async () => {
    const r1 = make();
    await settle(r1, desired(1, inst("a")));
    const pidA = (await backend.state("a"))?.pid;
    // The file as an older agent wrote it: its specs lack fields this protocol requires.
    const file = path.join(dir, "agent-state.json");
    const old = JSON.parse(await fs.readFile(file, "utf8"));
    for (const i of old.desired.instances) delete i.team;
    await fs.writeFile(file, JSON.stringify(old));
    const loaded = await loadState(file);
    expect(loaded.legacyDesired).toBe(true);
    backend.calls.length = 0;
    const r2 = make(loaded);
    await r2.tick();
    await r2.tick();
    expect(backend.calls).toEqual([]); // nothing stopped while the desired state is unknown
    expect((await backend.state("a"))?.pid).toBe(pidA);
    expect((await loadState(file)).legacyDesired).toBe(true); // a restart meanwhile holds again
    await settle(r2, desired(2, inst("b")));
    expect(backend.calls).toContain("delete:a");
    expect((await backend.state("b"))?.status).toBe("running");
    expect((await loadState(file)).legacyDesired).toBeUndefined();
  });

  it("reports a failed create as crashed and retries with backoff", async () => {
    const r = make();
    backend.failNext("create");
    await settle(r, desired(1, inst("a")));
    expect(events[1]).toMatchObject({ state: "crashed", reason: "start-failed", restarts: 1 });
    expect(states("a")).toEqual(["starting", "crashed", "starting", "running"]);
  });

  it("picks host ports the host does not use, and probes web instances where the router connects", async () => {
    const targets: string[] = [];
    const r = make(emptyState(), {
      // 20000 has a listener, 20001 a NAT mapping of someone else: both are skipped.
      hostPortsInUse: async () => new Set([20_000, 20_001]),
      probeHost: () => "10.1.2.3",
      probe: async (t) => {
        targets.push(`${t.host}:${t.port}`);
        return true;
      },
    });
    const check = { type: "tcp" as const, startTimeoutMs: 5_000 };
    await settle(
      r,
      desired(1, inst("a", { port: 5000, healthCheck: check }), inst("b", { port: 5000, healthCheck: check })),
    );
    const ports = ["a", "b"].map((id) => events.find((e) => e.instanceId === id && e.state === "running")?.hostPort);
    expect(ports.sort()).toEqual([20_002, 20_003]);
    expect([...new Set(targets)].sort()).toEqual(["10.1.2.3:20002", "10.1.2.3:20003"]);
  });

  it("replaces a running instance that stops answering at its host port, on a fresh host port", async () => {
    const broken = new Set<number>();
    const r = make(emptyState(), {
      hostPortsInUse: async () => new Set(broken),
      probeHost: () => "10.1.2.3",
      probe: async (t) => !broken.has(t.port),
      liveness: { everyMs: 1_000, failures: 3 },
    });
    const check = { type: "tcp" as const, startTimeoutMs: 5_000 };
    await settle(r, desired(1, inst("a", { port: 5000, healthCheck: check })));
    expect(events.at(-1)).toMatchObject({ state: "running", hostPort: 20_000 });
    broken.add(20_000); // a stale rule now shadows the mapping
    for (let i = 0; i < 2; i++) {
      clock += 1_000;
      await r.tick();
    }
    expect(states("a")).toEqual(["starting", "running"]); // two failures: not yet
    clock += 1_000;
    await r.tick();
    expect(events.find((e) => e.state === "crashed")).toMatchObject({ reason: "health-check-failed", restarts: 1 });
    clock += 60_000;
    await r.tick();
    expect(events.at(-1)).toMatchObject({ state: "running", hostPort: 20_001 });
    expect(states("a")).toEqual(["starting", "running", "crashed", "starting", "running"]);
  });
});
