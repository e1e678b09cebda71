// Pure desired-vs-actual diff: which instances to start, which to stop, which to replace because their spec changed.
import type { InstanceSpec } from "../protocol/desired-state.ts";

/** What the agent knows runs (or ran) for one instance id. */
export interface ActualInstance {
  id: string;
  /** Hash of the spec the container was created from; undefined when unknown (a container without a record). */
  specHash?: string;
}

/** The actions that converge actual to desired. */
export interface Diff {
  /** Desired instances with no container. */
  start: InstanceSpec[];
  /** Containers no longer desired. */
  stop: string[];
  /** Desired instances whose running container was made from another spec: stop, then start. */
  replace: InstanceSpec[];
  /** Desired instances already there with the same spec. */
  keep: string[];
}

/** Stable JSON (sorted keys) so equal specs hash equally whatever the key order on the wire. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Identity of a spec: its stable JSON (compared as a string; specs are small). The CPU request is left out: it only
 * sets the cgroup's share of contended CPU at create, and instances started before control planes sent it must not
 * all be replaced when one does (a changed request applies from the instance's next start).
 */
export function specHash(spec: InstanceSpec): string {
  const { cpuRequestMillis: _request, ...limits } = spec.limits;
  return stableJson({ ...spec, limits });
}

/** Computes the actions; an actual instance without a known hash is adopted as matching. */
export function diffInstances(desired: readonly InstanceSpec[], actual: readonly ActualInstance[]): Diff {
  const byId = new Map(actual.map((a) => [a.id, a]));
  const wanted = new Set(desired.map((d) => d.id));
  const out: Diff = { start: [], stop: [], replace: [], keep: [] };
  for (const spec of desired) {
    const have = byId.get(spec.id);
    if (!have) out.start.push(spec);
    else if (have.specHash !== undefined && have.specHash !== specHash(spec)) out.replace.push(spec);
    else out.keep.push(spec.id);
  }
  for (const a of actual) if (!wanted.has(a.id)) out.stop.push(a.id);
  out.stop.sort();
  return out;
}
