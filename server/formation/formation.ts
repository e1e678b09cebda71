// Process formation: how many instances of each process type an app runs, and their limits (memory, CPU, size of
// the writable layer, network bandwidth).
// The scheduler reads these rows; changing them never builds or releases anything.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";

export const LIMITS = {
  quantity: { min: 0, max: 100 },
  memoryMb: { min: 32, max: 65536 },
  cpu: { min: 0.05, max: 64 },
  /** MiB of each instance's writable layer (the agent refuses below 16 MiB; 64 leaves room for an image's churn). */
  diskMb: { min: 64, max: 1024 * 1024 },
  /** Mbit/s each way per instance. */
  bandwidthMbit: { min: 1, max: 100_000 },
} as const;

/** One process type's desired state. */
export interface FormationEntry {
  type: string;
  quantity: number;
  memoryMb: number;
  cpu: number;
  diskMb: number;
  bandwidthMbit: number;
}

/** A change to one process type; omitted fields stay as they are. */
export interface FormationUpdate {
  type: string;
  quantity?: number | undefined;
  memoryMb?: number | undefined;
  cpu?: number | undefined;
  diskMb?: number | undefined;
  bandwidthMbit?: number | undefined;
}

/** The fields of a formation row a client sees. */
export const formationView = (f: FormationEntry): FormationEntry => ({
  type: f.type,
  quantity: f.quantity,
  memoryMb: f.memoryMb,
  cpu: f.cpu,
  diskMb: f.diskMb,
  bandwidthMbit: f.bandwidthMbit,
});
const view = formationView;

const CHANGEABLE = ["quantity", "memoryMb", "cpu", "diskMb", "bandwidthMbit"] as const;

/** Checks one update against the limits (the API schema checks the same; this guards other callers). */
function check(u: FormationUpdate): void {
  if (CHANGEABLE.every((f) => u[f] === undefined)) {
    throw errors.validation(`${u.type}: give at least one of ${CHANGEABLE.join(", ")}`);
  }
  const bad = (field: keyof typeof LIMITS, v: number | undefined, integer: boolean) =>
    v !== undefined &&
    (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < LIMITS[field].min || v > LIMITS[field].max);
  for (const field of ["quantity", "memoryMb", "diskMb", "bandwidthMbit"] as const) {
    if (bad(field, u[field], true)) {
      throw errors.validation(
        `${u.type}: ${field} must be a whole number from ${LIMITS[field].min} to ${LIMITS[field].max}`,
      );
    }
  }
  if (bad("cpu", u.cpu, false) || (u.cpu !== undefined && !isHundredths(u.cpu))) {
    throw errors.validation(`${u.type}: cpu must be from ${LIMITS.cpu.min} to ${LIMITS.cpu.max} in steps of 0.01`);
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
      };
      const { type: _type, ...was } = view(row);
      before[u.type] = was;
      after[u.type] = next;
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
