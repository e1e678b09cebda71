// Shapes of platform health: what a component probe reports, and what /healthz and the admin status endpoint answer.
import type { SupervisorState } from "../lib/supervisor.ts";

/** ok: serving; restarting: its process is coming back (supervisor backoff or not answering yet); degraded: serving
 * with a problem (low disk, a node lost); down: not serving. */
export type ComponentStatus = "ok" | "restarting" | "degraded" | "down";

/** The process side of a component, when it is a child process the control plane supervises. */
export interface ProcessInfo {
  restarts: number;
  /** When the current (or last) process started. */
  startedAt: Date | null;
  lastExit: { at: Date; code: number | null; signal: string | null } | null;
}

/** One probe's answer. `detail` is public (no paths, addresses, versions, numbers that map the machine). */
export interface ProbeResult {
  status: ComponentStatus;
  detail: string;
  /** Shown to the instance admin only (free space in MB, node names, why a check failed). */
  adminDetail?: string;
  process?: ProcessInfo;
}

export type Probe = () => Promise<ProbeResult>;

/** What the router (HAProxy) tells health about itself. */
export interface RouterHealth {
  /** The proxy process runs. */
  running: boolean;
  /** Its Runtime API answers. */
  answering: boolean;
  /** The latest routes are loaded in the running process (after a restart: re-applied). */
  routesApplied: boolean;
  process: ProcessInfo;
}

export function processInfo(s: SupervisorState): ProcessInfo {
  return { restarts: s.restarts, startedAt: s.startedAt, lastExit: s.lastExit };
}

export interface ComponentView {
  name: string;
  status: ComponentStatus;
  detail: string;
  /** When the component entered this status (as seen by this control plane). */
  since: string;
}

export interface AdminComponentView extends ComponentView {
  restarts: number | null;
  startedAt: string | null;
  lastExit: { at: string; code: number | null; signal: string | null } | null;
}

export type OverallStatus = "ok" | "degraded" | "down";
