// Shared fixtures of the planApp table tests (plan.test.ts, plan-rollouts.test.ts): releases, instances and the
// options they are planned with.
import type { PlanInstance, PlanRelease } from "./plan.ts";

export const opts = { startTimeoutMs: 60_000, crashLimit: 2, rolloutTimeoutMs: 300_000 };
export const now = 1_000_000;

export const rel = (version: number, status: string, types = ["web"]): PlanRelease => ({
  id: `r${version}`,
  version,
  status,
  processTypes: types,
  createdAt: now - 1000,
});

let n = 0;
export const inst = (release: number, o: Partial<PlanInstance> = {}): PlanInstance => ({
  id: o.id ?? `i${++n}`,
  releaseId: `r${release}`,
  processType: "web",
  desired: "running",
  state: "running",
  restarts: 0,
  exitCode: null,
  reason: "",
  createdAt: now - 1000,
  lost: false,
  ...o,
});

export const formation = (entries: Record<string, number>) => new Map(Object.entries(entries));
