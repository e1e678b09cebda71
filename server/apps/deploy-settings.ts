// Per-app deploy settings: the rollout batch (how many new instances per process type start at a time) and the
// HTTP health check path of web instances. Changing them never builds or releases: the scheduler's next pass rolls
// out with the new batch (also a rollout under way), and the health check applies to instances started afterwards.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";

/** Largest rollout batch: the largest quantity a process type can have. */
export const ROLLOUT_BATCH_MAX = 100;
/** Longest health check path. */
export const HEALTH_PATH_MAX = 200;
/**
 * Health check paths: absolute, URL path characters only (letters, digits, `-._~/:@+,=&?` and %XX escapes). The
 * path reaches the agent's HTTP probe and every screen that shows it, so nothing outside that set is accepted.
 */
export const HEALTH_PATH_PATTERN = /^\/(?:[A-Za-z0-9\-._~/:@+,=&?]|%[0-9A-Fa-f]{2})*$/;

export const ROLLOUT_BATCH_MESSAGE = `rolloutBatch must be a whole number from 0 to ${ROLLOUT_BATCH_MAX} (0 = the whole formation at once)`;
export const HEALTH_PATH_MESSAGE =
  `healthCheckPath must start with "/", be at most ${HEALTH_PATH_MAX} characters and use only letters, digits, ` +
  "- . _ ~ / : @ + , = & ? and %XX escapes (null = TCP check only)";

/** The deploy settings of one app. */
export interface DeploySettings {
  /** 0: a rollout starts the whole new formation at once; N: at most N new instances per process type at a time. */
  rolloutBatch: number;
  /** Path web instances must answer with 2xx/3xx to count as started; null: accepting connections on PORT is enough. */
  healthCheckPath: string | null;
}

/** A change; omitted fields stay as they are, `healthCheckPath: null` turns the HTTP check off. */
export interface DeploySettingsUpdate {
  rolloutBatch?: number | undefined;
  healthCheckPath?: string | null | undefined;
}

/** True if `n` is an accepted rollout batch. */
export function isRolloutBatch(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= ROLLOUT_BATCH_MAX;
}

/** True if `p` is an accepted health check path. */
export function isHealthPath(p: string): boolean {
  return p.length <= HEALTH_PATH_MAX && HEALTH_PATH_PATTERN.test(p);
}

/** Checks a change (the API schema checks the same; this guards other callers). */
function check(u: DeploySettingsUpdate): void {
  if (u.rolloutBatch === undefined && u.healthCheckPath === undefined) {
    throw errors.validation("give at least one of rolloutBatch, healthCheckPath");
  }
  if (u.rolloutBatch !== undefined && !isRolloutBatch(u.rolloutBatch)) throw errors.validation(ROLLOUT_BATCH_MESSAGE);
  if (typeof u.healthCheckPath === "string" && !isHealthPath(u.healthCheckPath)) {
    throw errors.validation(HEALTH_PATH_MESSAGE);
  }
}

const view = (a: DeploySettings): DeploySettings => ({
  rolloutBatch: a.rolloutBatch,
  healthCheckPath: a.healthCheckPath,
});

/** The app's deploy settings (viewer and up). */
export async function getDeploySettings(s: Services, actor: Actor, appName: string): Promise<DeploySettings> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  return view(app);
}

/**
 * Changes the app's deploy settings (the roles that may scale the formation); returns them afterwards. Each actual
 * change is recorded with the values before and after.
 */
export async function changeDeploySettings(
  s: Services,
  actor: Actor,
  appName: string,
  update: DeploySettingsUpdate,
): Promise<DeploySettings> {
  const { app } = await requireApp(s.db, actor, appName, "app:scale");
  check(update);
  const result = await s.db.$transaction(async (tx) => {
    const row = await tx.app.findUniqueOrThrow({ where: { id: app.id } });
    const before: Partial<DeploySettings> = {};
    const after: Partial<DeploySettings> = {};
    if (update.rolloutBatch !== undefined && update.rolloutBatch !== row.rolloutBatch) {
      before.rolloutBatch = row.rolloutBatch;
      after.rolloutBatch = update.rolloutBatch;
    }
    if (update.healthCheckPath !== undefined && update.healthCheckPath !== row.healthCheckPath) {
      before.healthCheckPath = row.healthCheckPath;
      after.healthCheckPath = update.healthCheckPath;
    }
    if (Object.keys(after).length === 0) return { settings: view(row), changed: false };
    const updated = await tx.app.update({ where: { id: app.id }, data: after });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "deploy-settings.change",
      target: app.name,
      data: { before, after },
    });
    return { settings: view(updated), changed: true };
  });
  // A rollout under way continues with the new batch at the next pass.
  if (result.changed) kickScheduler(s);
  return result.settings;
}
