import { describe, expect, it } from "vitest";
import { describeProgress, judge, type RolloutStatus } from "./rollout-wait.ts";

const status = (over: Partial<RolloutStatus> = {}): RolloutStatus => ({
  release: { version: 7, status: "deploying", failReason: null },
  deployed: 6,
  processes: [{ type: "web", quantity: 2, running: 1, starting: 1, replacing: 0 }],
  old: 2,
  stopping: 0,
  failing: [],
  placementIssue: null,
  nodeReady: true,
  settled: false,
  ...over,
});

describe("describeProgress", () => {
  it("says per process type how many run of how many, and what is left", () => {
    expect(describeProgress(status())).toBe("v7 deploying: web 1/2 running (1 starting); 2 old instances to stop");
    expect(
      describeProgress(
        status({
          release: { version: 7, status: "deployed", failReason: null },
          processes: [
            { type: "web", quantity: 3, running: 3, starting: 0, replacing: 1 },
            { type: "worker", quantity: 1, running: 0, starting: 0, replacing: 0 },
          ],
          old: 0,
          stopping: 1,
          placementIssue: "no node has 512 MB memory and 1 CPU free",
        }),
      ),
    ).toBe(
      "v7 deployed: web 3/3 running (1 to replace), worker 0/1 running; 1 stopping; cannot place: no node has 512 MB memory and 1 CPU free",
    );
  });
});

describe("judge", () => {
  const release = { kind: "release", version: 7 } as const;
  const settled = { kind: "settled", known: new Set(["old-web-1"]) } as const;

  it("waits for a release until it is deployed, and fails when it fails or is superseded", () => {
    expect(judge(status(), release)).toBeNull();
    expect(judge(status({ release: { version: 7, status: "deployed", failReason: null } }), release)).toBe("done");
    expect(
      judge(
        status({ release: { version: 7, status: "failed", failReason: "web instance x keeps crashing" } }),
        release,
      ),
    ).toEqual({
      failed: "v7 failed: web instance x keeps crashing",
    });
    expect(judge(status({ release: { version: 7, status: "superseded", failReason: null } }), release)).toEqual({
      failed: "v7 was superseded by a newer release before it was deployed",
    });
  });

  it("waits for the app to settle; only instances the change started can abort it", () => {
    expect(judge(status({ settled: true }), settled)).toBe("done");
    expect(judge(status({ release: null }), settled)).toBe("done");
    const oldFailing = { instance: "old-web-1", processType: "web", reason: "web instance old-web-1 keeps crashing" };
    expect(judge(status({ failing: [oldFailing] }), settled)).toBeNull();
    const newFailing = { instance: "new-web-2", processType: "web", reason: "web instance new-web-2 failed to start" };
    expect(judge(status({ failing: [oldFailing, newFailing] }), settled)).toEqual({ failed: newFailing.reason });
  });

  it("fails at once when no node can run anything, unless already done", () => {
    expect(judge(status({ nodeReady: false }), settled)).toEqual({
      failed: "no node is ready to run instances; the change applies when one joins",
    });
    expect(judge(status({ nodeReady: false, settled: true }), settled)).toBe("done");
  });
});
