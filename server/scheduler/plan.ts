// The rollout state machine of one app, as a pure function of a snapshot: which instances to start and stop and
// which release statuses change. The scheduler applies the plan; running it again on the new snapshot converges
// (level-triggered), so a control-plane restart mid-rollout simply continues.
//
// Release statuses: pending -> deploying -> deployed (the one serving) | failed (with a reason) | superseded (a
// newer release was deployed, or a newer one was created before this one finished).
//
// Rollouts start the whole new formation beside the old one (surge 100%), unless the app sets a rollout batch N:
// then each process type has at most N new instances starting at a time, and every new healthy instance lets one
// old instance stop, so the healthy count never drops below the formation (maxUnavailable 0, maxSurge N).
//
// A process type whose new instances did not all fit on the nodes beside the old ones (`noRoom`) rolls out in batches
// that fit instead of waiting for the whole surplus: one old instance stops per new healthy one, and when not even one
// new instance fits (nothing new is starting) one old instance stops first to make room (maxUnavailable 1), except
// for a web type with one instance, which never drops to zero serving.
// A process type with a persistent volume (`stopFirst`) is never run side by side with its predecessors: they stop
// first, and its new instances start only once every instance of the type being stopped has exited (a database must
// not open its files twice). It is briefly unavailable during a rollout; that is the documented price.

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
  /**
   * The app's rollout batch: at most this many new instances per process type starting at a time during rollouts
   * and rolling restarts, one old instance stopped per new healthy one. 0 or absent: all at once.
   */
  rolloutBatch?: number | undefined;
  /**
   * Process types whose new instances the previous pass could not all place for want of room on the nodes (not for
   * want of a node), with how many it could place: they roll out in batches that fit.
   */
  noRoom?: ReadonlyMap<string, number> | undefined;
  /** Process types rolled out stop-then-start (they mount a volume). */
  stopFirst?: ReadonlySet<string> | undefined;
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
  /**
   * Old instances stopped only to make room for new ones that did not fit beside them (said in the rollout output);
   * absent when none.
   */
  makeRoom?: string[];
  /** Sentences for the rollout output (e.g. a stop-then-start); absent when there are none. */
  notes?: string[];
  statuses: { releaseId: string; status: "deploying" | "deployed" | "failed" | "superseded"; reason?: string }[];
}

const ROLLING_OUT = new Set(["pending", "deploying"]);

const alive = (i: PlanInstance) => i.desired !== "stopped" && !i.lost;
/** States of an instance whose process has exited (or never started). */
const EXITED = new Set(["stopped", "crashed", "failed", "pending"]);
/** Told to stop, on a node that is still there, and not exited yet. */
const exiting = (i: PlanInstance) => i.desired === "stopped" && !i.lost && !EXITED.has(i.state);

function describeExit(i: Pick<PlanInstance, "exitCode" | "reason">): string {
  const parts = [i.exitCode !== null ? `exit code ${i.exitCode}` : "", i.reason].filter(Boolean);
  return parts.length ? ` (${parts.join(", ")})` : "";
}

/** Why a new instance counts as failed for its rollout, or null (also what `GET /apps/{app}/rollout` reports). */
export function instanceFailure(
  i: Pick<PlanInstance, "id" | "processType" | "state" | "restarts" | "exitCode" | "reason" | "createdAt">,
  now: number,
  o: PlanOptions,
): string | null {
  if (i.state === "failed") return `${i.processType} instance ${i.id} failed to start${describeExit(i)}`;
  if (i.state === "crashed" && i.restarts >= o.crashLimit)
    return `${i.processType} instance ${i.id} keeps crashing${describeExit(i)}`;
  if (i.state !== "running" && now - i.createdAt > o.startTimeoutMs)
    return `${i.processType} instance ${i.id} was not healthy after ${Math.round(o.startTimeoutMs / 1000)} s`;
  return null;
}

/** Instances that serve least first: not healthy, then not of `preferKept`'s release, then the oldest. */
function leastServingFirst(preferKept: string | undefined) {
  return (a: PlanInstance, b: PlanInstance) =>
    Number(a.state === "running") - Number(b.state === "running") ||
    Number(a.releaseId === preferKept) - Number(b.releaseId === preferKept) ||
    a.createdAt - b.createdAt ||
    a.id.localeCompare(b.id);
}

/**
 * Scales one process type of `release` to quantity `q`. `predecessors` are the instances its new ones replace: the
 * release's own `replace` instances (rolling restart) and, in a rolling rollout, the other releases' instances of
 * the type. With batch 0 they all stop once `q` new ones are healthy; with batch N at most N new ones start at a
 * time and each new healthy one lets one predecessor stop.
 */
function scaleType(
  release: PlanRelease,
  type: string,
  q: number,
  mine: PlanInstance[],
  predecessors: PlanInstance[],
  batch: number,
  plan: WorkingPlan,
  preferKept?: string,
  /** How many new instances of the type the previous pass could place when it could not place them all. */
  placedShort?: number,
): void {
  const running = mine.filter((i) => i.desired === "running");
  const healthy = running.filter((i) => i.state === "running").length;
  if (placedShort !== undefined && batch === 0 && predecessors.length > 0) {
    // Batches that fit: everything missing is asked for (placement takes what fits), and old instances make way one
    // per new healthy one, or one first when nothing new fits at all.
    if (q > running.length) plan.start.push({ releaseId: release.id, processType: type, count: q - running.length });
    const starting = running.length - healthy;
    const replaced = Math.max(0, predecessors.length - Math.max(0, q - healthy));
    // Nothing fit last time, nothing is starting and no new healthy one lets an old one go: one makes room.
    const firstRoom =
      replaced === 0 && placedShort === 0 && starting === 0 && running.length < q && !(type === "web" && q < 2) ? 1 : 0;
    const surplus = [...predecessors]
      .sort(leastServingFirst(preferKept))
      .slice(0, Math.max(0, predecessors.length - Math.max(0, q - healthy - firstRoom)));
    plan.stop.push(...surplus.map((i) => i.id));
    // Those beyond what the new healthy instances replace stop for room only.
    plan.makeRoom.push(...surplus.slice(replaced).map((i) => i.id));
    return;
  }
  let start = q - running.length;
  if (start > 0 && batch > 0) {
    // Capacity that is missing anyway (scale-up, lost instances) starts at once; only replacing instances that
    // still serve waits for the batch.
    const missing = Math.max(0, start - predecessors.length);
    start = missing + Math.min(start - missing, Math.max(0, batch - (running.length - healthy)));
  }
  if (start > 0) plan.start.push({ releaseId: release.id, processType: type, count: start });
  if (running.length > q) {
    // Stop the ones that serve least first: not yet running, then the newest.
    const extra = [...running]
      .sort((a, b) => Number(a.state === "running") - Number(b.state === "running") || b.createdAt - a.createdAt)
      .slice(0, running.length - q);
    plan.stop.push(...extra.map((i) => i.id));
  }
  if (batch === 0) {
    if (healthy >= q) plan.stop.push(...predecessors.map((i) => i.id));
  } else {
    const keep = Math.max(0, q - healthy);
    const surplus = [...predecessors]
      .sort(leastServingFirst(preferKept))
      .slice(0, Math.max(0, predecessors.length - keep));
    plan.stop.push(...surplus.map((i) => i.id));
  }
}

/**
 * Scales a stop-then-start type of `release` to `q`: every other instance of the type (other releases, `replace`)
 * stops, and new ones start only once no instance of the type is still exiting. Extra ones stop newest first.
 */
function stopThenStart(
  release: PlanRelease,
  type: string,
  q: number,
  ofType: PlanInstance[],
  input: PlanInput,
  plan: Plan,
): void {
  const running = ofType.filter((i) => i.releaseId === release.id && i.desired === "running");
  const predecessors = ofType.filter((i) => i.releaseId !== release.id || i.desired === "replace");
  if (predecessors.length > 0) {
    plan.stop.push(...predecessors.map((i) => i.id));
    (plan.notes ??= []).push(
      `${type} mounts a volume: stopping ${predecessors.map((i) => i.id).join(", ")} before ` +
        `v${release.version} starts (stop-then-start)`,
    );
  }
  if (running.length > q) {
    plan.stop.push(
      ...[...running]
        .sort((a, b) => Number(a.state === "running") - Number(b.state === "running") || b.createdAt - a.createdAt)
        .slice(0, running.length - q)
        .map((i) => i.id),
    );
  }
  const waiting = predecessors.length > 0 || input.instances.some((i) => i.processType === type && exiting(i));
  if (!waiting && q > running.length)
    plan.start.push({ releaseId: release.id, processType: type, count: q - running.length });
}

/**
 * Scales the instances of `release` to the formation: start the missing ones, stop the extra ones. In a rolling
 * rollout (`rollingFrom`), the other releases' instances of each type are predecessors that stop one by one.
 */
function scale(
  release: PlanRelease,
  input: PlanInput,
  plan: WorkingPlan,
  batch: number,
  rollingFrom?: string,
  rollingOutFrom?: string,
): void {
  for (const type of release.processTypes) {
    const q = input.formation.get(type) ?? 0;
    const placedShort = input.noRoom?.get(type);
    // A rollout short of room replaces the old release's instances like a rolling one does.
    const from = rollingFrom ?? (placedShort !== undefined ? rollingOutFrom : undefined);
    const ofType = input.instances.filter((i) => alive(i) && i.processType === type);
    const mine = ofType.filter((i) => i.releaseId === release.id);
    if (input.stopFirst?.has(type)) {
      stopThenStart(release, type, q, ofType, input, plan);
      continue;
    }
    const predecessors = [
      ...mine.filter((i) => i.desired === "replace"),
      ...(from !== undefined ? ofType.filter((i) => i.releaseId !== release.id) : []),
    ];
    scaleType(release, type, q, mine, predecessors, batch, plan, from, placedShort);
  }
  const types = new Set(release.processTypes);
  plan.stop.push(
    ...input.instances
      .filter((i) => alive(i) && i.releaseId === release.id && !types.has(i.processType))
      .map((i) => i.id),
  );
}

/**
 * Healthy instances of other releases that keep serving until `current` has its formation healthy again: after a
 * rolling rollout failed, old instances were already stopped for new healthy ones, and stopping those at once
 * would drop below the healthy count the rollout kept.
 */
function bridges(current: PlanRelease, input: PlanInput, plan: WorkingPlan): Set<string> {
  const stopping = new Set(plan.stop);
  const keep = new Set<string>();
  for (const type of current.processTypes) {
    if (input.stopFirst?.has(type)) continue; // never side by side
    const q = input.formation.get(type) ?? 0;
    const ofType = input.instances.filter((i) => alive(i) && i.processType === type && !stopping.has(i.id));
    const serving = ofType.filter((i) => i.releaseId === current.id && i.state === "running").length;
    const spare = ofType
      .filter((i) => i.releaseId !== current.id && i.desired === "running" && i.state === "running")
      .sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id))
      .slice(0, Math.max(0, q - serving));
    for (const i of spare) keep.add(i.id);
  }
  return keep;
}

/**
 * Converges to `current` alone: scales it, and stops every other instance (but the bridges of a rolling app, or of a
 * rollout that stopped old instances for room).
 */
function settle(
  current: PlanRelease | undefined,
  input: PlanInput,
  plan: WorkingPlan,
  batch: number,
  bridging = false,
): void {
  if (current) scale(current, input, plan, batch);
  const keep = current && (batch > 0 || bridging) ? bridges(current, input, plan) : new Set<string>();
  plan.stop.push(
    ...input.instances.filter((i) => alive(i) && i.releaseId !== current?.id && !keep.has(i.id)).map((i) => i.id),
  );
}

/** A plan while it is computed: `makeRoom` collected as it goes (dropped from the result when empty). */
type WorkingPlan = Plan & { makeRoom: string[] };

/** Computes the next step for one app. */
export function planApp(input: PlanInput, o: PlanOptions): Plan {
  const plan: WorkingPlan = { start: [], stop: [], makeRoom: [], statuses: [] };
  const batch = Math.max(0, Math.floor(input.rolloutBatch ?? 0));
  // Instances whose node is gone are written off; their replacements are started by the counting below.
  plan.stop.push(...input.instances.filter((i) => i.desired !== "stopped" && i.lost).map((i) => i.id));

  const byVersion = [...input.releases].sort((a, b) => b.version - a.version);
  const current = byVersion.find((r) => r.status === "deployed");
  const candidates = byVersion.filter((r) => ROLLING_OUT.has(r.status) && r.version > (current?.version ?? 0));
  const target = candidates[0];
  for (const older of candidates.slice(1)) {
    plan.statuses.push({ releaseId: older.id, status: "superseded" });
    // A rolling rollout replaces them one by one like the old release's (they may carry part of the capacity).
    if (batch === 0)
      plan.stop.push(...input.instances.filter((i) => alive(i) && i.releaseId === older.id).map((i) => i.id));
  }

  if (target) {
    const mine = input.instances.filter((i) => alive(i) && i.releaseId === target.id);
    // A rolling rollout of a big formation takes many start timeouts; it only fails for being stuck: nothing new
    // started for the whole timeout (e.g. nothing could be placed).
    // So does one in batches that fit (short of room).
    const forRoom = target.processTypes.some((t) => input.noRoom?.has(t));
    const stepwise = batch > 0 || forRoom;
    const since = stepwise ? Math.max(target.createdAt, ...mine.map((i) => i.createdAt)) : target.createdAt;
    const reason =
      mine.map((i) => instanceFailure(i, input.now, o)).find((r) => r !== null) ??
      (input.now - since > o.rolloutTimeoutMs
        ? `the rollout ${stepwise ? "made no progress" : "did not finish"} in ${Math.round(o.rolloutTimeoutMs / 1000)} s` +
          (input.placementIssue ? `: ${input.placementIssue}` : "")
        : null);
    if (reason) {
      // Abort: the old release scales back to its formation (untouched unless the rollout was rolling).
      plan.statuses.push({ releaseId: target.id, status: "failed", reason });
      // Old instances may have given way (rolling, or for room): the new healthy ones bridge until they are back.
      if (stepwise) {
        settle(current, input, plan, batch, true);
      } else {
        plan.stop.push(...mine.map((i) => i.id));
        if (current) scale(current, input, plan, batch);
      }
      return dedupe(plan);
    }
    scale(target, input, plan, batch, batch > 0 ? (current?.id ?? "") : undefined, current?.id ?? "");
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

  settle(current, input, plan, batch);
  return dedupe(plan);
}

function dedupe({ makeRoom, ...plan }: WorkingPlan): Plan {
  const stop = new Set(plan.stop);
  const room = [...new Set(makeRoom)].filter((id) => stop.has(id));
  return { ...plan, stop: [...stop], ...(room.length ? { makeRoom: room } : {}) };
}
