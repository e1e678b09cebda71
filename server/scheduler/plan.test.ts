import { describe, expect, it } from "vitest";
import { planApp } from "./plan.ts";
import { formation, inst, now, opts, rel } from "./plan-fixtures.ts";

describe("planApp: scaling the deployed release", () => {
  it("starts what is missing", () => {
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 3 }), instances: [inst(1)], now },
      opts,
    );
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 2 }]);
    expect(p.stop).toEqual([]);
  });

  it("stops extras, not-yet-running and newest first", () => {
    const a = inst(1, { id: "a", createdAt: now - 3000 });
    const b = inst(1, { id: "b", createdAt: now - 2000 });
    const c = inst(1, { id: "c", state: "starting", createdAt: now - 5000 });
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 1 }), instances: [a, b, c], now },
      opts,
    );
    expect(p.stop).toEqual(["c", "b"]);
  });

  it("replaces instances lost with their node", () => {
    const lost = inst(1, { id: "lost", lost: true });
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 2 }), instances: [lost, inst(1)], now },
      opts,
    );
    expect(p.stop).toEqual(["lost"]);
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
  });

  it("is stable when converged", () => {
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 1 }), instances: [inst(1)], now },
      opts,
    );
    expect(p).toEqual({ start: [], stop: [], statuses: [] });
  });

  it("rolling restart: replacements first, old ones stop once replacements are healthy", () => {
    const old = inst(1, { id: "old", desired: "replace" });
    const step1 = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 1 }), instances: [old], now },
      opts,
    );
    expect(step1.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
    expect(step1.stop).toEqual([]);
    const starting = inst(1, { id: "new", state: "starting" });
    expect(
      planApp(
        { releases: [rel(1, "deployed")], formation: formation({ web: 1 }), instances: [old, starting], now },
        opts,
      ).stop,
    ).toEqual([]);
    const healthy = inst(1, { id: "new" });
    expect(
      planApp(
        { releases: [rel(1, "deployed")], formation: formation({ web: 1 }), instances: [old, healthy], now },
        opts,
      ).stop,
    ).toEqual(["old"]);
  });

  it("stops types the release no longer has", () => {
    const worker = inst(1, { id: "w", processType: "worker" });
    const p = planApp(
      { releases: [rel(1, "deployed")], formation: formation({ web: 0, worker: 1 }), instances: [worker], now },
      opts,
    );
    expect(p.stop).toEqual(["w"]);
  });
});

describe("planApp: rollouts", () => {
  const releases = [rel(1, "deployed"), rel(2, "pending")];

  it("starts the new release beside the old one and marks it deploying", () => {
    const p = planApp({ releases, formation: formation({ web: 2 }), instances: [inst(1), inst(1)], now }, opts);
    expect(p.start).toEqual([{ releaseId: "r2", processType: "web", count: 2 }]);
    expect(p.stop).toEqual([]);
    expect(p.statuses).toEqual([{ releaseId: "r2", status: "deploying" }]);
  });

  it("keeps the old instances while new ones are starting", () => {
    const olds = [inst(1, { id: "o1" }), inst(1, { id: "o2" })];
    const news = [inst(2, { state: "running" }), inst(2, { state: "starting" })];
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 2 }),
        instances: [...olds, ...news],
        now,
      },
      opts,
    );
    expect(p.stop).toEqual([]);
    expect(p.statuses).toEqual([]);
  });

  it("switches over when every new instance is healthy", () => {
    const olds = [inst(1, { id: "o1" }), inst(1, { id: "o2" })];
    const news = [inst(2), inst(2)];
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 2 }),
        instances: [...olds, ...news],
        now,
      },
      opts,
    );
    expect(p.stop).toEqual(["o1", "o2"]);
    expect(p.statuses).toEqual([
      { releaseId: "r2", status: "deployed" },
      { releaseId: "r1", status: "superseded" },
    ]);
  });

  it("aborts on a failed health check and keeps the old release serving", () => {
    const old = inst(1, { id: "old" });
    const slow = inst(2, { id: "slow", state: "starting", createdAt: now - 61_000 });
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 1 }),
        instances: [old, slow],
        now,
      },
      opts,
    );
    expect(p.statuses).toEqual([
      { releaseId: "r2", status: "failed", reason: "web instance slow was not healthy after 60 s" },
    ]);
    expect(p.stop).toEqual(["slow"]);
    expect(p.start).toEqual([]);
  });

  it("aborts on a crash loop with the exit code", () => {
    const crashing = inst(2, { id: "c", state: "crashed", restarts: 2, exitCode: 137, reason: "oom-killed" });
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 1 }),
        instances: [inst(1), crashing],
        now,
      },
      opts,
    );
    expect(p.statuses[0]).toEqual({
      releaseId: "r2",
      status: "failed",
      reason: "web instance c keeps crashing (exit code 137, oom-killed)",
    });
  });

  it("one crash is not yet a crash loop", () => {
    const crashed = inst(2, { state: "crashed", restarts: 1 });
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying")],
        formation: formation({ web: 1 }),
        instances: [inst(1), crashed],
        now,
      },
      opts,
    );
    expect(p.statuses).toEqual([]);
  });

  it("fails a rollout that cannot be placed, saying why", () => {
    const r2 = { ...rel(2, "deploying"), createdAt: now - 400_000 };
    const p = planApp(
      {
        releases: [rel(1, "deployed"), r2],
        formation: formation({ web: 1 }),
        instances: [inst(1)],
        now,
        placementIssue: "no ready node to run it on",
      },
      opts,
    );
    expect(p.statuses[0]?.reason).toBe("the rollout did not finish in 300 s: no ready node to run it on");
  });

  it("a newer release supersedes one still rolling out", () => {
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "deploying"), rel(3, "pending")],
        formation: formation({ web: 1 }),
        instances: [inst(1), inst(2, { id: "v2" })],
        now,
      },
      opts,
    );
    expect(p.statuses).toContainEqual({ releaseId: "r2", status: "superseded" });
    expect(p.stop).toEqual(["v2"]);
    expect(p.start).toEqual([{ releaseId: "r3", processType: "web", count: 1 }]);
  });

  it("first deploy: nothing old to keep", () => {
    const p = planApp({ releases: [rel(1, "pending")], formation: formation({ web: 1 }), instances: [], now }, opts);
    expect(p.start).toEqual([{ releaseId: "r1", processType: "web", count: 1 }]);
  });

  it("a release with zero instances deploys at once", () => {
    const p = planApp(
      {
        releases: [rel(1, "deployed"), rel(2, "pending", ["worker"])],
        formation: formation({ worker: 0 }),
        instances: [inst(1)],
        now,
      },
      opts,
    );
    expect(p.statuses).toContainEqual({ releaseId: "r2", status: "deployed" });
  });

  it("rollback is a new release rolled out the same way", () => {
    const releases3 = [rel(1, "superseded"), rel(2, "deployed"), rel(3, "pending")];
    const p = planApp({ releases: releases3, formation: formation({ web: 1 }), instances: [inst(2)], now }, opts);
    expect(p.start).toEqual([{ releaseId: "r3", processType: "web", count: 1 }]);
    expect(p.stop).toEqual([]);
  });

  it("never rolls back to an older pending release", () => {
    const p = planApp(
      {
        releases: [rel(1, "pending"), rel(2, "deployed")],
        formation: formation({ web: 1 }),
        instances: [inst(2)],
        now,
      },
      opts,
    );
    expect(p).toEqual({ start: [], stop: [], statuses: [] });
  });
});
