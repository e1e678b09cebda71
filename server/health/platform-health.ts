// Platform health: every component registers a probe; a check runs them all (each with a time limit), remembers
// since when each component has had its status, and derives the overall status. /healthz is unauthenticated, so
// results are cached for a moment: any number of callers cost one round of probes per CACHE_MS.
import type { Logger } from "../logger.ts";
import type { AdminComponentView, ComponentStatus, ComponentView, OverallStatus, Probe, ProbeResult } from "./types.ts";

const CACHE_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;
/** Report order: what the control plane needs, then what apps need, then capacity; others follow. */
const ORDER = ["database", "registry", "router", "local-agent", "nodes", "disk"];
const rank = (name: string) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

/** Components whose failure means the control plane itself cannot serve: overall "down". */
const ESSENTIAL = new Set(["database"]);

interface Checked extends ProbeResult {
  name: string;
  since: Date;
}

export interface HealthReport {
  status: OverallStatus;
  checkedAt: Date;
  components: Checked[];
}

function withTimeout(name: string, probe: Probe): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ status: "down", detail: "not answering", adminDetail: `the ${name} check timed out` }),
      PROBE_TIMEOUT_MS,
    );
  });
  const run = probe().catch((err: unknown): ProbeResult => ({
    status: "down",
    detail: "not answering",
    adminDetail: err instanceof Error ? err.message.slice(0, 300) : String(err),
  }));
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

export class PlatformHealth {
  private readonly probes = new Map<string, Probe>();
  private readonly since = new Map<string, { status: ComponentStatus; at: Date }>();
  private last: HealthReport | undefined;
  private inFlight: Promise<HealthReport> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  /** Adds (or replaces) a component. */
  register(name: string, probe: Probe): void {
    this.probes.set(name, probe);
    const sorted = [...this.probes].sort(([a], [b]) => rank(a) - rank(b));
    this.probes.clear();
    for (const [n, p] of sorted) this.probes.set(n, p);
    this.last = undefined;
  }

  unregister(name: string): void {
    this.probes.delete(name);
    this.since.delete(name);
    this.last = undefined;
  }

  /** The latest report, at most CACHE_MS old; concurrent callers share one round of probes. */
  async report(): Promise<HealthReport> {
    if (this.last && Date.now() - this.last.checkedAt.getTime() < CACHE_MS) return this.last;
    this.inFlight ??= this.check().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  /** Runs one component's probe now (not cached); undefined when this control plane does not run that component. */
  async probe(name: string): Promise<ProbeResult | undefined> {
    const probe = this.probes.get(name);
    return probe ? withTimeout(name, probe) : undefined;
  }

  /** Checks every few seconds in the background, so `since` and the logged transitions do not wait for a caller. */
  watch(intervalMs = 5_000): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async check(): Promise<HealthReport> {
    const entries = [...this.probes];
    const results = await Promise.all(entries.map(([name, probe]) => withTimeout(name, probe)));
    const now = new Date();
    const components = entries.map(([name], i): Checked => {
      const r = results[i]!;
      const prev = this.since.get(name);
      if (!prev || prev.status !== r.status) {
        this.since.set(name, { status: r.status, at: now });
        if (prev) {
          const fields = { component: name, from: prev.status, to: r.status, detail: r.adminDetail ?? r.detail };
          if (r.status === "ok") this.log.info(fields, "platform component recovered");
          else this.log.warn(fields, "platform component not ok");
        }
      }
      return { ...r, name, since: this.since.get(name)!.at };
    });
    const report: HealthReport = { status: overall(components), checkedAt: now, components };
    this.last = report;
    return report;
  }
}

function overall(components: Checked[]): OverallStatus {
  if (components.some((c) => ESSENTIAL.has(c.name) && c.status === "down")) return "down";
  return components.every((c) => c.status === "ok") ? "ok" : "degraded";
}

/** What unauthenticated /healthz callers see: names, statuses, public sentences, since. */
export function publicView(r: HealthReport): { status: OverallStatus; components: ComponentView[] } {
  return {
    status: r.status,
    components: r.components.map((c) => ({
      name: c.name,
      status: c.status,
      detail: c.detail,
      since: c.since.toISOString(),
    })),
  };
}

/** What the instance admin sees: the detailed sentences and the supervised processes' restarts and last exit. */
export function adminView(r: HealthReport): {
  status: OverallStatus;
  checkedAt: string;
  components: AdminComponentView[];
} {
  return {
    status: r.status,
    checkedAt: r.checkedAt.toISOString(),
    components: r.components.map((c) => ({
      name: c.name,
      status: c.status,
      detail: c.adminDetail ?? c.detail,
      since: c.since.toISOString(),
      restarts: c.process?.restarts ?? null,
      startedAt: c.process?.startedAt?.toISOString() ?? null,
      lastExit: c.process?.lastExit
        ? { at: c.process.lastExit.at.toISOString(), code: c.process.lastExit.code, signal: c.process.lastExit.signal }
        : null,
    })),
  };
}
