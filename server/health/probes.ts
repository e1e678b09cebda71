// The probes of platform health. Public details are short sentences without paths, addresses or versions; the
// instance admin's details may say more (free MB, node names, why a check failed).
import type { Services } from "../context.ts";
import { freeBytes } from "../lib/disk-space.ts";
import type { SupervisorState } from "../lib/supervisor.ts";
import { processInfo, type Probe, type ProbeResult, type RouterHealth } from "./types.ts";

/** A process that started this recently and does not answer yet is still coming up (not down). */
const GRACE_MS = 15_000;
const MB = 1024 * 1024;

const recent = (d: Date | null, ms = GRACE_MS) => d !== null && Date.now() - d.getTime() < ms;

function exitText(s: SupervisorState): string {
  const e = s.lastExit;
  if (!e) return "";
  return ` (last exit: ${e.signal ?? `code ${e.code}`} at ${e.at.toISOString()})`;
}

export function databaseProbe(s: Services): Probe {
  return async () => {
    await s.db.$queryRawUnsafe("SELECT 1");
    return { status: "ok", detail: "answering" };
  };
}

export function diskProbe(s: Services): Probe {
  return async () => {
    const free = await freeBytes(s.config.dataDir);
    const adminDetail = `${Math.floor(free / MB)} MB free in the data dir; pushes and builds need ${Math.floor(s.config.minFreeBytes / MB)} MB`;
    if (free < s.config.minFreeBytes)
      return { status: "degraded", detail: "almost full: pushes and builds are refused", adminDetail };
    return { status: "ok", detail: "enough free space", adminDetail };
  };
}

/** Nodes that joined but whose agent is not connected to this control plane (lost, stopped, or reconnecting). */
export function nodesProbe(s: Services): Probe {
  return async () => {
    const nodes = await s.db.node.findMany({ select: { id: true, name: true }, orderBy: { name: "asc" } });
    const hub = s.agents;
    const lost = nodes.filter((n) => !hub.isConnected(n.id));
    if (nodes.length === 0) return { status: "ok", detail: "no nodes joined" };
    if (lost.length === 0) return { status: "ok", detail: `all ${nodes.length} connected` };
    return {
      status: "degraded",
      detail: `${lost.length} of ${nodes.length} not connected`,
      adminDetail: `not connected: ${lost.map((n) => n.name).join(", ")}`,
    };
  };
}

/** From a supervisor's state and whether its endpoint answers. */
export function supervisedStatus(state: SupervisorState, answering: boolean, what: string): ProbeResult {
  const process = processInfo(state);
  if (state.phase === "stopped") return { status: "down", detail: "stopped", process };
  if (state.phase === "restarting") {
    return {
      status: "restarting",
      detail: "exited; restarting",
      adminDetail: `${what} exited; next start at ${state.restartAt?.toISOString() ?? "soon"}${exitText(state)}`,
      process,
    };
  }
  if (answering) return { status: "ok", detail: "running", process };
  if (recent(state.startedAt))
    return { status: "restarting", detail: "starting", adminDetail: `${what} started; not answering yet`, process };
  return { status: "down", detail: "not answering", adminDetail: `${what} runs but does not answer`, process };
}

/** The image registry: its process runs and /v2/ answers (401 without credentials is an answer). */
export function registryProbe(state: () => SupervisorState, host: string): Probe {
  return async () => {
    const s = state();
    const answering =
      s.phase === "up" &&
      (await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_500) }).then(
        (r) => r.status === 401 || r.status === 200,
        () => false,
      ));
    return supervisedStatus(s, answering, "the registry");
  };
}

/** The registry failed at start (not installed, port taken): builds are off until the control plane restarts. */
export function registryFailedProbe(): Probe {
  return () =>
    Promise.resolve({
      status: "down",
      detail: "did not start; builds are disabled",
      adminDetail:
        "the image registry did not start with the control plane (see its log); restart the control plane once fixed",
    });
}

/** The router: its process runs, its admin API answers, and the latest routes are loaded. */
export function routerProbe(health: () => Promise<RouterHealth>): Probe {
  return async () => {
    const h = await health();
    const base = { process: h.process };
    if (h.running && h.answering && h.routesApplied) return { status: "ok", detail: "running", ...base };
    if (h.running && h.answering)
      return {
        status: "restarting",
        detail: "restarted; loading routes",
        adminDetail: "re-applying the latest routes",
        ...base,
      };
    // Just exited or just (re)started: the router's watcher is bringing HAProxy back.
    if (recent(h.process.lastExit?.at ?? null) || recent(h.process.startedAt))
      return {
        status: "restarting",
        detail: "restarting",
        adminDetail: "the proxy is starting or not answering yet",
        ...base,
      };
    if (h.running)
      return {
        status: "down",
        detail: "not answering; apps may not be reachable",
        adminDetail: "the proxy runs but its admin API does not answer",
        ...base,
      };
    return { status: "down", detail: "not running; apps are not reachable", ...base };
  };
}

/** The router failed at start: apps are not reachable until the control plane restarts. */
export function routerFailedProbe(): Probe {
  return () =>
    Promise.resolve({
      status: "down",
      detail: "did not start; apps are not reachable",
      adminDetail:
        "the router did not start with the control plane (see its log); restart the control plane once fixed",
    });
}

/** The local node agent: its process runs and its node is connected to the agent hub. */
export function localAgentProbe(s: Services, state: () => SupervisorState): Probe {
  return async () => {
    const st = state();
    const node = await s.db.node.findFirst({
      where: { local: true },
      orderBy: { lastSeenAt: "desc" },
      select: { id: true },
    });
    const connected = node !== null && s.agents.isConnected(node.id);
    const r = supervisedStatus(st, connected, "the local agent");
    // Up but not connected for long: the agent runs but cannot reach us (or is refused).
    if (r.status === "down")
      return { ...r, detail: "not connected", adminDetail: "the local agent runs but its node is not connected" };
    if (r.status === "restarting" && st.phase === "up") return { ...r, detail: "connecting" };
    return r;
  };
}
