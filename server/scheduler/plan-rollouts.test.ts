// planApp over several passes: rolling rollouts in batches, rollouts short of room, and stop-then-start for a
// process type with a volume. Each test drives a World pass by pass, applying every plan as the scheduler does.
import { describe, expect, it } from "vitest";
import { type Plan, type PlanInstance, type PlanRelease, planApp } from "./plan.ts";
import { formation, inst, now, opts, rel } from "./plan-fixtures.ts";

/** A snapshot the tests drive pass by pass, applying each plan the way the scheduler does. */
interface World {
  releases: PlanRelease[];
  instances: PlanInstance[];
}

/** Applies a plan: stopped instances leave (they are out of the router before they stop), new ones are starting. */
function apply(w: World, p: Plan): void {
  const stop = new Set(p.stop);
  w.instances = w.instances.filter((i) => !stop.has(i.id));
  for (const s of p.start) {
    for (let k = 0; k < s.count; k++) {
      const version = Number(s.releaseId.slice(1));
      w.instances.push(inst(version, { processType: s.processType, state: "starting", createdAt: now }));
    }
  }
  for (const st of p.statuses) {
    const r = w.releases.find((x) => x.id === st.releaseId);
    if (r) r.status = st.status;
  }
}

/** Healthy instances of a type, whatever their release: what the router sends traffic to. */
const healthyCount = (w: World, type = "web") =>
  w.instances.filter((i) => i.processType === type && i.desired !== "stopped" && i.state === "running").length;

/** Marks every starting instance healthy (the agent's health check passed). */
const becomeHealthy = (w: World) => {
  for (const i of w.instances) if (i.state === "starting") i.state = "running";
};

describe("planApp: rolling rollouts (rolloutBatch)", () => {
  const olds = () => [
    inst(1, { id: "o1", createdAt: now - 9000 }),
    inst(1, { id: "o2", createdAt: now - 8000 }),
    inst(1, { id: "o3", createdAt: now - 7000 }),
  ];
  const world = (): World => ({ releases: [rel(1, "deployed"), rel(2, "pending")], instances: olds() });
  const web3 = formation({ web: 3 });

  it("batch 1, web=3: one new instance at a time, one old one stopped per new healthy one", () => {
    const w = world();
    const steps: { start: number; stop: string[]; statuses: string[] }[] = [];
    for (let pass = 0; pass < 10 && w.releases[1]?.status !== "deployed"; pass++) {
      const p = planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts);
      steps.push({
        start: p.start.reduce((n, s) => n + s.count, 0),
        stop: p.stop,
        statuses: p.statuses.map((s) => `${s.releaseId} ${s.status}`),
      });
      apply(w, p);
      // Never fewer healthy instances than the formation, and at most one new one starting.
      expect(healthyCount(w)).toBeGreaterThanOrEqual(3);
      expect(w.instances.filter((i) => i.state === "starting").length).toBeLessThanOrEqual(1);
      // The new instance is still starting: nothing changes until its health check passes.
      if (w.instances.some((i) => i.state === "starting")) {
        expect(planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts)).toEqual({
          start: [],
          stop: [],
          statuses: [],
        });
      }
      becomeHealthy(w);
    }
    expect(steps).toEqual([
      { start: 1, stop: [], statuses: ["r2 deploying"] },
      { start: 1, stop: ["o1"], statuses: [] },
      { start: 1, stop: ["o2"], statuses: [] },
      { start: 0, stop: ["o3"], statuses: ["r2 deployed", "r1 superseded"] },
    ]);
    expect(w.instances.map((i) => i.releaseId)).toEqual(["r2", "r2", "r2"]);
  });

  it("batch 2, web=3: two at a time (maxSurge 2)", () => {
    const w = world();
    const p1 = planApp({ ...w, formation: web3, now, rolloutBatch: 2 }, opts);
    expect(p1.start).toEqual([{ releaseId: "r2", processType: "web", count: 2 }]);
    apply(w, p1);
    becomeHealthy(w);
    const p2 = planApp({ ...w, formation: web3, now, rolloutBatch: 2 }, opts);
    expect(p2.stop).toEqual(["o1", "o2"]);
    expect(p2.start).toEqual([{ releaseId: "r2", processType: "web", count: 1 }]);
  });

  it("a failure mid-rollout aborts and scales the old release back, never below the healthy count", () => {
    const w = world();
    for (let pass = 0; pass < 2; pass++) {
      apply(w, planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts));
      if (pass === 0) becomeHealthy(w);
    }
    // o1 stopped for the first healthy new instance; the second new one crash-loops.
    const [n1, n2] = w.instances.filter((i) => i.releaseId === "r2");
    expect(w.instances.map((i) => i.id)).not.toContain("o1");
    Object.assign(n2 as PlanInstance, { state: "crashed", restarts: 2, exitCode: 1 });

    const abort = planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts);
    expect(abort.statuses).toEqual([
      { releaseId: "r2", status: "failed", reason: `web instance ${n2?.id} keeps crashing (exit code 1)` },
    ]);
    expect(abort.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
    // The healthy new instance keeps serving until the old release has its formation healthy again.
    expect(abort.stop).toEqual([n2?.id]);
    apply(w, abort);
    expect(healthyCount(w)).toBe(3);

    // The failed release is no longer live (the scheduler only passes pending/deploying/deployed ones).
    w.releases = w.releases.filter((r) => r.status !== "failed");
    expect(planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts)).toEqual({
      start: [],
      stop: [],
      statuses: [],
    });
    becomeHealthy(w);
    const settled = planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts);
    expect(settled).toEqual({ start: [], stop: [n1?.id], statuses: [] });
    apply(w, settled);
    expect(w.instances.map((i) => i.releaseId)).toEqual(["r1", "r1", "r1"]);
  });

  it("batch 0 is unchanged: the whole formation at once, and an abort stops every new instance", () => {
    const w = world();
    for (const batch of [0, undefined]) {
      const p = planApp({ ...w, formation: web3, now, rolloutBatch: batch }, opts);
      expect(p.start).toEqual([{ releaseId: "r2", processType: "web", count: 3 }]);
      expect(p.stop).toEqual([]);
    }
    const healthyNew = inst(2, { id: "n1" });
    const failing = inst(2, { id: "n2", state: "failed" });
    const instances = [inst(1, { id: "o2" }), inst(1, { id: "o3" }), healthyNew, failing];
    const p = planApp(
      { releases: [rel(1, "deployed"), rel(2, "deploying")], formation: web3, instances, now, rolloutBatch: 0 },
      opts,
    );
    expect(p.stop).toEqual(["n1", "n2"]);
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
  });

  it("rolling restart (ps:restart) respects the batch", () => {
    const w: World = {
      releases: [rel(1, "deployed")],
      instances: olds().map((i) => ({ ...i, desired: "replace" as const })),
    };
    const stops: string[][] = [];
    for (let pass = 0; pass < 10 && w.instances.some((i) => i.desired === "replace"); pass++) {
      const p = planApp({ ...w, formation: web3, now, rolloutBatch: 1 }, opts);
      expect(p.start.reduce((n, s) => n + s.count, 0)).toBeLessThanOrEqual(1);
      stops.push(p.stop);
      apply(w, p);
      expect(healthyCount(w)).toBeGreaterThanOrEqual(3);
      becomeHealthy(w);
    }
    expect(stops).toEqual([[], ["o1"], ["o2"], ["o3"]]);
    expect(w.instances).toHaveLength(3);
    // Batch 0: every replacement at once, the old ones stop together.
    const all = planApp(
      {
        releases: [rel(1, "deployed")],
        formation: web3,
        instances: olds().map((i) => ({ ...i, desired: "replace" as const })),
        now,
      },
      opts,
    );
    expect(all.start).toEqual([{ releaseId: "r1", processType: "web", count: 3 }]);
  });

  it("capacity that is missing anyway (lost node, scale-up) is not held back by the batch", () => {
    const lost = inst(1, { id: "lost", lost: true });
    const p = planApp(
      {
        releases: [rel(1, "deployed")],
        formation: formation({ web: 4 }),
        instances: [lost, inst(1)],
        now,
        rolloutBatch: 1,
      },
      opts,
    );
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 3 }]);
  });

  it("a newer release during a rolling rollout replaces the superseded one's instances one by one too", () => {
    const instances = [inst(1, { id: "o2" }), inst(1, { id: "o3" }), inst(2, { id: "n1" })];
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying"), rel(3, "pending")],
        formation: web3,
        instances,
        now,
        rolloutBatch: 1,
      },
      opts,
    );
    expect(p.statuses).toContainEqual({ releaseId: "r2", status: "superseded" });
    expect(p.stop).toEqual([]);
    expect(p.start).toEqual([{ releaseId: "r3", processType: "web", count: 1 }]);
  });

  it("a rolling rollout fails only when it makes no progress for the rollout timeout", () => {
    const r2 = { ...rel(2, "deploying"), createdAt: now - 400_000 };
    const progressing = [
      inst(1),
      inst(1),
      inst(2, { createdAt: now - 30_000 }),
      inst(2, { state: "starting", createdAt: now - 5_000 }),
    ];
    const busy = planApp(
      { releases: [rel(1, "deployed"), r2], formation: web3, instances: progressing, now, rolloutBatch: 1 },
      opts,
    );
    expect(busy.statuses).toEqual([]);
    const stuck = planApp(
      {
        releases: [rel(1, "deployed"), r2],
        formation: web3,
        instances: olds(),
        now,
        rolloutBatch: 1,
        placementIssue: "no ready node to run it on",
      },
      opts,
    );
    expect(stuck.statuses[0]?.reason).toBe("the rollout made no progress in 300 s: no ready node to run it on");
  });
});

describe("planApp: rollouts short of room roll out in batches that fit", () => {
  /**
   * Runs a rollout of v2 over v1 (q instances of `type`) on a node with room for `slots` instances of the type, pass by
   * pass like the scheduler: placement takes what fits and reports the type short of room for the next pass.
   */
  function simulate(type: string, q: number, slots: number, passes = 30) {
    const w: World = {
      releases: [rel(1, "deployed", [type]), rel(2, "pending", [type])],
      instances: Array.from({ length: q }, (_, k) => inst(1, { id: `o${k + 1}`, processType: type })),
    };
    let noRoom = new Map<string, number>();
    let fewest = Infinity;
    const said: string[][] = [];
    for (let pass = 0; pass < passes && w.releases[1]?.status !== "deployed"; pass++) {
      const p = planApp({ ...w, formation: formation({ [type]: q }), now, noRoom }, opts);
      if (p.makeRoom) said.push(p.makeRoom);
      const stop = new Set(p.stop);
      w.instances = w.instances.filter((i) => !stop.has(i.id));
      fewest = Math.min(fewest, healthyCount(w, type));
      // Placement: what fits beside what is left.
      const wanted = p.start.reduce((n, s) => n + s.count, 0);
      const fits = Math.max(0, Math.min(wanted, slots - w.instances.length));
      apply(w, { ...p, stop: [], start: p.start.map((s) => ({ ...s, count: fits })) });
      noRoom = fits < wanted ? new Map([[type, fits]]) : new Map();
      becomeHealthy(w);
    }
    return { w, fewest, said, deployed: w.releases[1]?.status === "deployed" };
  }

  it("room for one extra: web=3 rolls out one by one, never below 3 healthy, nothing stopped only for room", () => {
    const r = simulate("web", 3, 4);
    expect(r.deployed).toBe(true);
    expect(r.fewest).toBe(3);
    expect(r.said).toEqual([]);
    expect(r.w.instances.every((i) => i.releaseId === "r2")).toBe(true);
  });

  it("a full node: web=3 replaces one at a time, each old one stopped for room first, 2 healthy at least", () => {
    const r = simulate("web", 3, 3);
    expect(r.deployed).toBe(true);
    expect(r.fewest).toBe(2);
    expect(r.said).toEqual([["o1"], ["o2"], ["o3"]]);
    expect(r.w.instances).toHaveLength(3);
  });

  it("a full node with worker=1: the old worker makes room, the new one starts", () => {
    const r = simulate("worker", 1, 1);
    expect(r.deployed).toBe(true);
    expect(r.said).toEqual([["o1"]]);
  });

  it("a full node with web=1 never drops to zero serving: the rollout waits (and times out) instead", () => {
    const r = simulate("web", 1, 1, 5);
    expect(r.deployed).toBe(false);
    expect(r.fewest).toBe(1);
    expect(r.w.instances.map((i) => i.id)).toEqual(["o1"]);
  });

  it("without the noRoom hint, batch 0 keeps every old instance until the whole new formation is healthy", () => {
    const w: World = {
      releases: [rel(1, "deployed"), rel(2, "deploying")],
      instances: [inst(1, { id: "o1" }), inst(1, { id: "o2" }), inst(2, { id: "n1" })],
    };
    const p = planApp({ ...w, formation: formation({ web: 2 }), now }, opts);
    expect(p.stop).toEqual([]);
    const short = planApp({ ...w, formation: formation({ web: 2 }), now, noRoom: new Map([["web", 0]]) }, opts);
    expect(short.stop).toEqual(["o1"]);
    expect(short.makeRoom).toBeUndefined();
  });

  it("an abort after old instances gave way keeps the new healthy ones serving until the old are back", () => {
    const instances = [inst(1, { id: "o3" }), inst(2, { id: "n1" }), inst(2, { id: "n2", state: "failed" })];
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 3 }),
        instances,
        now,
        noRoom: new Map([["web", 0]]),
      },
      opts,
    );
    expect(p.statuses[0]).toMatchObject({ releaseId: "r2", status: "failed" });
    expect(p.stop).toEqual(["n2"]);
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 2 }]);
  });
});

describe("planApp: stop-then-start for a process type with a volume", () => {
  const stopFirst = new Set(["web"]);
  const web1 = formation({ web: 1 });

  it("stops the old instance first and starts the new one only once it has exited", () => {
    const old = inst(1, { id: "old" });
    const releases = [rel(1, "deployed"), rel(2, "pending")];
    const p1 = planApp({ releases, formation: web1, instances: [old], now, stopFirst }, opts);
    expect(p1.stop).toEqual(["old"]);
    expect(p1.start).toEqual([]);
    expect(p1.notes?.[0]).toMatch(/web mounts a volume: stopping old before v2 starts \(stop-then-start\)/);

    // Told to stop but still running (draining): nothing starts yet.
    const draining = { ...old, desired: "stopped" as const };
    const p2 = planApp({ releases, formation: web1, instances: [draining], now, stopFirst }, opts);
    expect(p2.start).toEqual([]);
    expect(p2.notes).toBeUndefined();

    // Exited: the new release's instance starts.
    const exited = { ...draining, state: "stopped" };
    const p3 = planApp({ releases, formation: web1, instances: [exited], now, stopFirst }, opts);
    expect(p3.start).toEqual([{ releaseId: "r2", processType: "web", count: 1 }]);
  });

  it("without the volume the same rollout starts side by side", () => {
    const p = planApp(
      { releases: [rel(1, "deployed"), rel(2, "pending")], formation: web1, instances: [inst(1, { id: "old" })], now },
      opts,
    );
    expect(p.stop).toEqual([]);
    expect(p.start).toEqual([{ releaseId: "r2", processType: "web", count: 1 }]);
  });

  it("a restart (replace) of the deployed release also stops first, with a rollout batch too", () => {
    const r = inst(1, { id: "r", desired: "replace" });
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: web1, instances: [r], now, stopFirst, rolloutBatch: 1 },
      opts,
    );
    expect(p.stop).toEqual(["r"]);
    expect(p.start).toEqual([]);
  });

  it("other types of the app keep rolling side by side", () => {
    const releases = [rel(1, "deployed", ["web", "worker"]), rel(2, "pending", ["web", "worker"])];
    const instances = [inst(1, { id: "w" }), inst(1, { id: "k", processType: "worker" })];
    const p = planApp(
      { releases, formation: formation({ web: 1, worker: 1 }), instances, now, stopFirst: new Set(["worker"]) },
      opts,
    );
    expect(p.stop).toEqual(["k"]);
    expect(p.start).toEqual([{ releaseId: "r2", processType: "web", count: 1 }]);
  });

  it("a lost instance of the type is replaced at once (its node is gone)", () => {
    const p = planApp(
      {
        releases: [rel(1, "deployed")],
        formation: web1,
        instances: [inst(1, { id: "gone", lost: true, desired: "stopped" })],
        now,
        stopFirst,
      },
      opts,
    );
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
  });
});
