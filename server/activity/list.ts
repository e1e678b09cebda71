// The activity timeline of one app: its audit events (releases, config, scaling, domains, settings) as short
// sentences for everyone who may read the app. Config changes record key names only, so nothing here can reveal a
// config value; summaries are built from a fixed set of fields per action, never by dumping the stored data.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { requireApp } from "../teams/access.ts";

export interface ActivityQuery {
  limit: number;
  /** Id of the last event of the previous page: the page continues with older events. */
  before?: string | undefined;
}

/** One entry of the timeline. */
export interface ActivityItem {
  id: string;
  action: string;
  target: string;
  actor: string;
  at: string;
  summary: string;
}

type Data = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const names = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** "A", "A and B", "A, B and 3 more". */
function list(items: string[], max = 3): string {
  if (items.length <= 1) return items[0] ?? "";
  if (items.length <= max) return `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}

function configSummary(d: Data): string {
  const set = names(d.set);
  const unset = names(d.unset);
  const parts: string[] = [];
  if (set.length) parts.push(`set ${list(set)}`);
  if (unset.length) parts.push(`removed ${list(unset)}`);
  if (!parts.length && (names(d.buildTime).length || names(d.runtimeOnly).length))
    parts.push("changed build-time flags");
  return parts.length ? `Config vars: ${parts.join("; ")}` : "Changed config vars";
}

type Limits = {
  quantity?: unknown;
  memoryMb?: unknown;
  cpu?: unknown;
  memoryRequestMb?: unknown;
  cpuRequest?: unknown;
};

function formationSummary(d: Data): string {
  const before = (d.before ?? {}) as Record<string, Limits>;
  const after = (d.after ?? {}) as Record<string, Limits>;
  const changes: string[] = [];
  for (const [type, a] of Object.entries(after)) {
    const b = before[type] ?? {};
    const bits: string[] = [];
    if (num(a.quantity) !== null && a.quantity !== b.quantity)
      bits.push(`${String(b.quantity ?? "?")} → ${String(a.quantity)}`);
    if (num(a.memoryMb) !== null && a.memoryMb !== b.memoryMb) bits.push(`${String(a.memoryMb)} MB`);
    if (num(a.cpu) !== null && a.cpu !== b.cpu) bits.push(`${String(a.cpu)} CPU`);
    if (num(a.memoryRequestMb) !== null && a.memoryRequestMb !== b.memoryRequestMb)
      bits.push(`request ${String(a.memoryRequestMb)} MB`);
    if (num(a.cpuRequest) !== null && a.cpuRequest !== b.cpuRequest) bits.push(`request ${String(a.cpuRequest)} CPU`);
    if (bits.length) changes.push(`${type} ${bits.join(", ")}`);
  }
  return changes.length ? `Scaled ${list(changes)}` : "Changed the formation";
}

function deploySettingsSummary(d: Data): string {
  const before = (d.before ?? {}) as { rolloutBatch?: unknown; healthCheckPath?: unknown };
  const after = (d.after ?? {}) as { rolloutBatch?: unknown; healthCheckPath?: unknown };
  const parts: string[] = [];
  const batch = num(after.rolloutBatch);
  if (batch !== null && after.rolloutBatch !== before.rolloutBatch)
    parts.push(batch === 0 ? "rollouts start all new instances at once" : `rollouts start ${batch} at a time`);
  if (after.healthCheckPath !== before.healthCheckPath && after.healthCheckPath !== undefined) {
    const path = str(after.healthCheckPath);
    parts.push(path ? `web health check GET ${path.slice(0, 200)}` : "web health check is a TCP connect");
  }
  return parts.length ? `Deploy settings: ${parts.join("; ")}` : "Changed deploy settings";
}

/** A short sentence for one event; falls back to the action name for actions it does not know. */
export function summarize(action: string, target: string, d: Data): string {
  switch (action) {
    case "app.create":
      return "Created the app";
    case "app.destroy":
      return "Deleted the app";
    case "app.transfer":
      return str(d.from) ? `Moved the app from team ${String(d.from)}` : "Moved the app to another team";
    case "app.update": {
      if (typeof d.maintenance === "boolean")
        return d.maintenance ? "Turned maintenance mode on" : "Turned maintenance mode off";
      if (str(d.team)) return `Moved the app to team ${String(d.team)}`;
      return "Changed app settings";
    }
    case "instances.restart":
      return target && target !== "all" ? `Restarted ${target} (rolling)` : "Restarted every instance (rolling)";
    case "instance.oom-killed": {
      const mb = num(d.memoryMb);
      return `${str(d.processType) ?? "An"} instance ${target} was OOM killed${mb !== null ? ` (over its ${mb} MB)` : ""}; restarting it`;
    }
    case "release.deployed":
      return `${target} is running`;
    case "release.failed":
      return `${target} failed to roll out${str(d.reason) ? `: ${String(d.reason).slice(0, 300)}` : ""}; the previous release kept serving`;
    case "release.create": {
      const description = str(d.description);
      return `Released ${target || "a new version"}${description ? `: ${description.slice(0, 200)}` : ""}`;
    }
    case "release.rollback": {
      const to = num(d.version) ?? num(d.from) ?? (str(d.to) ? Number(String(d.to).replace(/^v/, "")) : null);
      return to !== null ? `Rolled back to v${to}, released as ${target}` : `Rolled back (${target})`;
    }
    case "config.change":
      return configSummary(d);
    case "formation.change":
      return formationSummary(d);
    case "deploy-settings.change":
      return deploySettingsSummary(d);
    case "domain.add":
      return `Added domain ${str(d.hostname) ?? target}`;
    case "domain.remove":
      return `Removed domain ${str(d.hostname) ?? target}`;
    case "domain.verify":
      return `Verified domain ${str(d.hostname) ?? target}; it is routed now`;
    case "domain.drop":
      return `Dropped the pending claim on ${str(d.hostname) ?? target}: another app proved control of the name first`;
    default:
      return target ? `${action} ${target}` : action;
  }
}

/** The app's events, newest first (viewer and up). Only events since the app (under this name) was created. */
export async function listActivity(
  s: Services,
  actor: Actor,
  appName: string,
  q: ActivityQuery,
): Promise<ActivityItem[]> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  // App names can be reused after a delete: the history of an earlier app with the same name (maybe another team's)
  // must not show up, so the timeline starts at this app's own creation event.
  const created = await s.db.auditEvent.findFirst({
    where: { appName: app.name, action: "app.create" },
    orderBy: { createdAt: "desc" },
    select: { createdAt: true },
  });
  // Recorded in the same transaction as the app, so the newest one is this app's.
  const since = created?.createdAt ?? app.createdAt;
  const createdAt: { gte: Date; lte?: Date } = { gte: since };
  let cursor: { id: string; createdAt: Date } | null = null;
  if (q.before) {
    cursor = await s.db.auditEvent.findFirst({
      where: { id: q.before, appName: app.name, createdAt: { gte: since } },
      select: { id: true, createdAt: true },
    });
    if (!cursor) throw errors.validation("before: no such event of this app");
    createdAt.lte = cursor.createdAt;
  }
  const rows = await s.db.auditEvent.findMany({
    where: {
      appName: app.name,
      createdAt,
      // Ties on the timestamp are broken by id, the same order as below.
      ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { id: { lt: cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: q.limit,
  });
  return rows.map((r) => {
    let data: Data = {};
    try {
      const parsed: unknown = JSON.parse(r.data);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) data = parsed as Data;
    } catch {
      // A malformed row still gets a summary from its action.
    }
    return {
      id: r.id,
      action: r.action,
      target: r.target,
      actor: r.actorEmail || "system",
      at: r.createdAt.toISOString(),
      summary: summarize(r.action, r.target, data),
    };
  });
}
