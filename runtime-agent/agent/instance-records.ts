// The reconciler's per-instance bookkeeping, without the loop: a new record for a spec, the restart decision after
// an exit or a failure, the `instance.event` a transition reports and the observed state the control plane reads.
// Pure functions over InstanceRecord (state-file.ts); the reconciler owns the records and calls these.
import type { InstanceSpec } from "../protocol/desired-state.ts";
import type { ObservedInstance } from "../protocol/methods.ts";
import type { InstanceEvent, InstanceState } from "../protocol/notifications.ts";
import type { ContainerInfo } from "../runtime/backend.ts";
import { nextRestartStep, restartDelayMs } from "./backoff.ts";
import { specHash } from "./diff.ts";
import type { InstanceRecord } from "./state-file.ts";

/** Which instance an event is about (a record's spec, or a container adopted without one). */
export type Owner = Pick<InstanceSpec, "id" | "app" | "release" | "processType">;

const RESTARTABLE = (spec: InstanceSpec, exitCode: number | undefined) =>
  spec.restartPolicy === "always" || (spec.restartPolicy === "on-failure" && exitCode !== 0);

/** A record for `spec`; a container without a record (state file lost) is adopted as it is. */
export function newRecord(spec: InstanceSpec, container: ContainerInfo | undefined, now: number): InstanceRecord {
  return {
    id: spec.id,
    app: spec.app,
    release: spec.release,
    processType: spec.processType,
    specHash: specHash(spec),
    state: container?.status === "running" ? "starting" : "pending",
    restarts: 0,
    backoffStep: 0,
    terminal: false,
    ...(container?.hostPort !== undefined ? { hostPort: container.hostPort } : {}),
    ...(container?.status === "running" ? { startedAt: now } : {}),
  };
}

/**
 * Updates `rec` after its container exited or failed and returns the transition to report: terminal (`stopped` for
 * exit 0, else `crashed`) when the restart policy says no, else `crashed` with the next start after the backoff.
 */
export function planRestart(
  spec: InstanceSpec,
  rec: InstanceRecord,
  now: number,
  exitCode: number | undefined,
  reason: string,
  message?: string,
): { state: InstanceState; extra: { reason: string; message?: string } } {
  const healthyFor = rec.healthySince === undefined ? 0 : now - rec.healthySince;
  delete rec.healthySince;
  delete rec.pid;
  if (exitCode !== undefined) rec.exitCode = exitCode;
  const extra = { reason, ...(message ? { message: message.slice(0, 2048) } : {}) };
  if (!RESTARTABLE(spec, exitCode)) {
    rec.terminal = true;
    return { state: exitCode === 0 ? "stopped" : "crashed", extra };
  }
  const step = nextRestartStep(rec.backoffStep, healthyFor);
  rec.nextRestartAt = now + restartDelayMs(step);
  rec.backoffStep = step + 1;
  rec.restarts += 1;
  return { state: "crashed", extra: { ...extra, message: message ?? `restart in ${restartDelayMs(step)} ms` } };
}

/** The `instance.event` of a transition of `rec` (already in its new state). */
export function instanceEvent(
  spec: Owner,
  rec: InstanceRecord,
  state: InstanceState,
  extra: { reason?: string; message?: string },
  now: number,
): InstanceEvent {
  return {
    instanceId: spec.id,
    app: spec.app,
    release: spec.release,
    processType: spec.processType,
    state,
    at: new Date(now).toISOString(),
    restarts: rec.restarts,
    ...(rec.hostPort !== undefined ? { hostPort: rec.hostPort } : {}),
    ...(state !== "starting" &&
    state !== "running" &&
    rec.exitCode !== undefined &&
    rec.exitCode >= 0 &&
    rec.exitCode <= 255
      ? { exitCode: rec.exitCode }
      : {}),
    ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
    ...(extra.message !== undefined ? { message: extra.message } : {}),
  };
}

/** What the node runs now, per instance, sorted by id. */
export function observedInstances(records: Iterable<InstanceRecord>, generation: number): ObservedInstance[] {
  return [...records]
    .map((r) => ({
      id: r.id,
      state: r.state,
      generation,
      restarts: r.restarts,
      ...(r.exitCode !== undefined && r.exitCode >= 0 && r.exitCode <= 255 ? { exitCode: r.exitCode } : {}),
      ...(r.hostPort !== undefined ? { hostPort: r.hostPort } : {}),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}
