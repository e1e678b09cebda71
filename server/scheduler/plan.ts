// The rollout state machine of one app, as a pure function of a snapshot: which instances to start and stop and
// which release statuses change. The scheduler applies the plan; running it again on the new snapshot converges
// (level-triggered), so a control-plane restart mid-rollout simply continues.
//
// Release statuses: pending -> deploying -> deployed (the one serving) | failed (with a reason) | superseded (a
// newer release was deployed, or a newer one was created before this one finished).

export type Desired = "running" | "replace" | "stopped";

export interface PlanRelease {
  id: string;
  version: number;
  status: string;
  processTypes: string[];
  createdAt: number;
}

export interface PlanInstance {
  id: string;
  releaseId: string;
  processType: string;
  desired: Desired;
  state: string;
  restarts: number;
  exitCode: number | null;
  reason: string;
  createdAt: number;
  /** Its node is gone (down past the grace period, removed) or it never got one. */
  lost: boolean;
}

export interface PlanInput {
  releases: PlanRelease[];
  formation: Map<string, number>;
  instances: PlanInstance[];
  now: number;
  /** Why the previous pass could not place instances (shown when the rollout times out). */
  placementIssue?: string | undefined;
}

export interface PlanOptions {
  /** A new instance that is not healthy after this long fails the rollout. */
  startTimeoutMs: number;
  /** A new instance that crashed this many times fails the rollout (crash loop). */
  crashLimit: number;
  /** A rollout that has not finished after this long fails (e.g. nothing could be placed). */
  rolloutTimeoutMs: number;
}

export interface StartRequest {
  releaseId: string;
  processType: string;
  count: number;
}

export interface Plan {
  start: StartRequest[];
  stop: string[];
  statuses: { releaseId: string; status: "deploying" | "deployed" | "failed" | "superseded"; reason?: string }[];
}

const ROLLING_OUT = new Set(["pending", "deploying"]);

const alive = (i: PlanInstance) => i.desired !== "stopped" && !i.lost;

function describeExit(i: PlanInstance): string {
  const parts = [i.exitCode !== null ? `exit code ${i.exitCode}` : "", i.reason].filter(Boolean);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** Why a new instance counts as failed for its rollout, or null. */
function failure(i: PlanInstance, now: number, o: PlanOptions): string | null {
  if (i.state === "failed") return `${i.processType} instance ${i.id} failed to start${describeExit(i)}`;
  if (i.state === "crashed" && i.restarts >= o.crashLimit)
    return `${i.processType} instance ${i.id} keeps crashing${describeExit(i)}`;
  if (i.state !== "running" && now - i.createdAt > o.startTimeoutMs)
    return `${i.processType} instance ${i.id} was not healthy after ${Math.round(o.startTimeoutMs / 1000)} s`;
  return null;
}

/** Scale the instances of `release` to the formation: start the missing ones, stop the extra ones. */
function scale(release: PlanRelease, input: PlanInput, plan: Plan): void {
  for (const type of release.processTypes) {
    const q = input.formation.get(type) ?? 0;
    const mine = input.instances.filter((i) => alive(i) && i.releaseId === release.id && i.processType === type);
    const running = mine.filter((i) => i.desired === "running");
    if (running.length < q) plan.start.push({ releaseId: release.id, processType: type, count: q - running.length });
    if (running.length > q) {
      // Stop the ones that serve least first: not yet running, then the newest.
      const extra = [...running]
        .sort((a, b) => Number(a.state === "running") - Number(b.state === "running") || b.createdAt - a.createdAt)
        .slice(0, running.length - q);
      plan.stop.push(...extra.map((i) => i.id));
    }
    // Rolling restart: old instances (`replace`) stop once as many replacements are healthy as the type needs.
    const healthy = running.filter((i) => i.state === "running").length;
    if (healthy >= q) plan.stop.push(...mine.filter((i) => i.desired === "replace").map((i) => i.id));
  }
  const types = new Set(release.processTypes);
  plan.stop.push(
    ...input.instances.filter((i) => alive(i) && i.releaseId === release.id && !types.has(i.processType)).map((i) => i.id),
  );
}

/** Computes the next step for one app. */
export function planApp(input: PlanInput, o: PlanOptions): Plan {
  const plan: Plan = { start: [], stop: [], statuses: [] };
  // Instances whose node is gone are written off; their replacements are started by the counting below.
  plan.stop.push(...input.instances.filter((i) => i.desired !== "stopped" && i.lost).map((i) => i.id));

  const byVersion = [...input.releases].sort((a, b) => b.version - a.version);
  const current = byVersion.find((r) => r.status === "deployed");
  const candidates = byVersion.filter((r) => ROLLING_OUT.has(r.status) && r.version > (current?.version ?? 0));
  const target = candidates[0];
  for (const older of candidates.slice(1)) {
    plan.statuses.push({ releaseId: older.id, status: "superseded" });
    plan.stop.push(...input.instances.filter((i) => alive(i) && i.releaseId === older.id).map((i) => i.id));
  }

  if (target) {
    const mine = input.instances.filter((i) => alive(i) && i.releaseId === target.id);
    const reason =
      mine.map((i) => failure(i, input.now, o)).find((r) => r !== null) ??
      (input.now - target.createdAt > o.rolloutTimeoutMs
        ? `the rollout did not finish in ${Math.round(o.rolloutTimeoutMs / 1000)} s` +
          (input.placementIssue ? `: ${input.placementIssue}` : "")
        : null);
    if (reason) {
      // Abort: the old release keeps serving untouched.
      plan.statuses.push({ releaseId: target.id, status: "failed", reason });
      plan.stop.push(...mine.map((i) => i.id));
      if (current) scale(current, input, plan);
      return dedupe(plan);
    }
    scale(target, input, plan);
    const ready = target.processTypes.every((type) => {
      const q = input.formation.get(type) ?? 0;
      return mine.filter((i) => i.processType === type && i.desired === "running" && i.state === "running").length >= q;
    });
    if (ready) {
      plan.statuses.push({ releaseId: target.id, status: "deployed" });
      if (current) plan.statuses.push({ releaseId: current.id, status: "superseded" });
      plan.stop.push(...input.instances.filter((i) => alive(i) && i.releaseId !== target.id).map((i) => i.id));
    } else if (target.status === "pending") {
      plan.statuses.push({ releaseId: target.id, status: "deploying" });
    }
    return dedupe(plan);
  }

  if (current) scale(current, input, plan);
  const keep = current?.id;
  plan.stop.push(...input.instances.filter((i) => alive(i) && i.releaseId !== keep).map((i) => i.id));
  return dedupe(plan);
}

function dedupe(plan: Plan): Plan {
  return { ...plan, stop: [...new Set(plan.stop)] };
}
