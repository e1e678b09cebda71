// Process formation: how many instances of each process type an app runs, their limits (memory, CPU, size of
// the writable layer, network bandwidth) and their requests (the memory and CPU placement counts, ./requests.ts).
// The scheduler reads these rows; changing them never builds or releases anything.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { effectiveRequests, requestProblem } from "./requests.ts";

export const LIMITS = {
  quantity: { min: 0, max: 100 },
  memoryMb: { min: 32, max: 65536 },
  cpu: { min: 0.05, max: 64 },
  /** MiB of each instance's writable layer (the agent refuses below 16 MiB; 64 leaves room for an image's churn). */
  diskMb: { min: 64, max: 1024 * 1024 },
  /** Mbit/s each way per instance. */
  bandwidthMbit: { min: 1, max: 100_000 },
  /** MB placement counts per instance; at most the memory limit (checked with it). */
  memoryRequestMb: { min: 32, max: 65536 },
  /** Cores placement counts per instance; 0 (best effort) up to the CPU limit (checked with it). */
  cpuRequest: { min: 0, max: 64 },
} as const;

/** One process type's desired state. */
export interface FormationEntry {
  type: string;
  quantity: number;
  memoryMb: number;
  cpu: number;
  diskMb: number;
  bandwidthMbit: number;
  /** The memory request in force (MB): the one set, else the memory limit. */
  memoryRequestMb: number;
  /** The CPU request in force (cores): the one set, else 0.1 (or the limit if smaller). */
  cpuRequest: number;
}

/** A change to one process type; omitted fields stay as they are. */
export interface FormationUpdate {
  type: string;
  quantity?: number | undefined;
  memoryMb?: number | undefined;
  cpu?: number | undefined;
  diskMb?: number | undefined;
  bandwidthMbit?: number | undefined;
  /** null: back to the default (follow the memory limit). */
  memoryRequestMb?: number | null | undefined;
  /** null: back to the default (0.1 core). */
  cpuRequest?: number | null | undefined;
}

/** A formation row as stored (requests null = default). */
interface FormationRow {
  type: string;
  quantity: number;
  memoryMb: number;
  cpu: number;
  diskMb: number;
  bandwidthMbit: number;
  memoryRequestMb: number | null;
  cpuRequest: number | null;
}

/** The fields of a formation row a client sees. */
export const formationView = (f: FormationRow): FormationEntry => {
  const r = effectiveRequests(f);
  return {
    type: f.type,
    quantity: f.quantity,
    memoryMb: f.memoryMb,
    cpu: f.cpu,
    diskMb: f.diskMb,
    bandwidthMbit: f.bandwidthMbit,
    memoryRequestMb: r.memoryMb,
    cpuRequest: r.cpu,
  };
};
const view = formationView;

const CHANGEABLE = ["quantity", "memoryMb", "cpu", "diskMb", "bandwidthMbit", "memoryRequestMb", "cpuRequest"] as const;

/** Checks one update against the limits (the API schema checks the same; this guards other callers). */
function check(u: FormationUpdate): void {
  if (CHANGEABLE.every((f) => u[f] === undefined)) {
    throw errors.validation(`${u.type}: give at least one of ${CHANGEABLE.join(", ")}`);
  }
  const bad = (field: keyof typeof LIMITS, v: number | undefined, integer: boolean) =>
    v !== undefined &&
    (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < LIMITS[field].min || v > LIMITS[field].max);
  for (const field of ["quantity", "memoryMb", "diskMb", "bandwidthMbit", "memoryRequestMb"] as const) {
    if (bad(field, u[field] ?? undefined, true)) {
      throw errors.validation(
        `${u.type}: ${field} must be a whole number from ${LIMITS[field].min} to ${LIMITS[field].max}`,
      );
    }
  }
  if (bad("cpu", u.cpu, false) || (u.cpu !== undefined && !isHundredths(u.cpu))) {
    throw errors.validation(`${u.type}: cpu must be from ${LIMITS.cpu.min} to ${LIMITS.cpu.max} in steps of 0.01`);
  }
  const cpuRequest = u.cpuRequest ?? undefined;
  if (bad("cpuRequest", cpuRequest, false) || (cpuRequest !== undefined && !isHundredths(cpuRequest))) {
    throw errors.validation(
      `${u.type}: cpuRequest must be from ${LIMITS.cpuRequest.min} to ${LIMITS.cpuRequest.max} in steps of 0.01`,
    );
  }
}

/** True if `v` has at most two decimal places (CPU shares are given in hundredths of a core). */
export function isHundredths(v: number): boolean {
  return Math.abs(Math.round(v * 100) - v * 100) < 1e-6;
}

/** The app's formation, one entry per process type, sorted by type. */
export async function getFormation(s: Services, actor: Actor, appName: string): Promise<FormationEntry[]> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.formation.findMany({ where: { appId: app.id }, orderBy: { type: "asc" } });
  return rows.map(view);
}

/** Applies all updates in one transaction (all or nothing); returns the whole formation afterwards. */
export async function changeFormation(s: Services, actor: Actor, appName: string, updates: FormationUpdate[]) {
  const { app } = await requireApp(s.db, actor, appName, "app:scale");
  if (updates.length === 0) throw errors.validation("nothing to change");
  const seen = new Set<string>();
  for (const u of updates) {
    if (seen.has(u.type)) throw errors.validation(`${u.type} is listed more than once`);
    seen.add(u.type);
    check(u);
  }

  const result = await s.db.$transaction(async (tx) => {
    const rows = await tx.formation.findMany({ where: { appId: app.id }, orderBy: { type: "asc" } });
    const byType = new Map(rows.map((r) => [r.type, r]));
    const unknown = updates.filter((u) => !byType.has(u.type)).map((u) => u.type);
    if (unknown.length) {
      const known = rows.map((r) => r.type);
      throw errors.validation(
        `${app.name} has no process type ${unknown.join(", ")}; ` +
          (known.length ? `its types are ${known.join(", ")}` : "it has no process types yet"),
      );
    }
    const before: Record<string, Omit<FormationEntry, "type">> = {};
    const after: Record<string, Omit<FormationEntry, "type">> = {};
    for (const u of updates) {
      const row = byType.get(u.type);
      if (!row) continue;
      const next = {
        quantity: u.quantity ?? row.quantity,
        memoryMb: u.memoryMb ?? row.memoryMb,
        cpu: u.cpu ?? row.cpu,
        diskMb: u.diskMb ?? row.diskMb,
        bandwidthMbit: u.bandwidthMbit ?? row.bandwidthMbit,
        // undefined keeps the request, null resets it to the default.
        memoryRequestMb: u.memoryRequestMb === undefined ? row.memoryRequestMb : u.memoryRequestMb,
        cpuRequest: u.cpuRequest === undefined ? row.cpuRequest : u.cpuRequest,
      };
      // Checked against the limits after the change: a limit lowered under a request set earlier is refused too.
      const problem = requestProblem(u.type, next);
      if (problem) throw errors.validation(problem);
      const { type: _type, ...was } = view(row);
      before[u.type] = was;
      const { type: _t, ...will } = view({ type: u.type, ...next });
      after[u.type] = will;
      await tx.formation.update({ where: { id: row.id }, data: next });
    }
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "formation.change",
      target: app.name,
      data: { before, after },
    });
    const rowsAfter = await tx.formation.findMany({ where: { appId: app.id }, orderBy: { type: "asc" } });
    return rowsAfter.map(view);
  });
  kickScheduler(s);
  return result;
}
