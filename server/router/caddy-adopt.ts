// What the router does with a Caddy found at start-up (pure): Caddy runs detached from the control plane, so a
// control-plane restart (or upgrade) finds it still serving and adopts it instead of starting a new one; only a
// process proven to be ours (pid file, command line, admin API answering on the recorded address) is adopted.
import { SERVER_NAME } from "./caddy-config.ts";

/** What the data dir records about the Caddy we launched (`<dataDir>/caddy/state.json`). */
export interface CaddyRecord {
  /** Loopback admin address the running config listens on ("127.0.0.1:PORT"). */
  admin: string;
}

export interface CaddyFindings {
  /** The record, when present and well-formed. */
  record: CaddyRecord | undefined;
  /** The pid file names a live process started as `caddy run --config <our config file>`. */
  ourProcessAlive: boolean;
  /** `admin.listen` of the config the admin API at record.admin returned; undefined when it did not answer. */
  answeredAdmin: string | undefined;
  /** The admin port the caller insists on (BERTH/tests), if any. */
  wantedAdminPort: number | undefined;
  /** A config we last loaded is on disk (what a new Caddy can start with, routes included). */
  haveLastConfig: boolean;
}

export type CaddyStartDecision =
  /** Keep the running Caddy: it serves on; the next load replaces its config gracefully. */
  | { action: "adopt"; admin: string }
  /** Start a new Caddy (after stopping ours when `stopOld`), with the last loaded config or an admin-only one. */
  | { action: "launch"; stopOld: boolean; from: "last" | "empty" };

export function decideCaddyStart(f: CaddyFindings): CaddyStartDecision {
  const portOk = (admin: string) => f.wantedAdminPort === undefined || admin.endsWith(`:${f.wantedAdminPort}`);
  if (f.ourProcessAlive && f.record && f.answeredAdmin === f.record.admin && portOk(f.record.admin))
    return { action: "adopt", admin: f.record.admin };
  // A Caddy of ours that does not answer where we expect it (hung, or another admin port asked for) is replaced; a
  // live Caddy answering with another config is not ours to keep.
  return { action: "launch", stopOld: f.ourProcessAlive, from: f.haveLastConfig ? "last" : "empty" };
}

function recordOf(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** `admin.listen` of a Caddy JSON config, if any. */
export function adminListenOf(config: unknown): string | undefined {
  const listen = recordOf(recordOf(config)?.admin)?.listen;
  return typeof listen === "string" ? listen : undefined;
}

/** The port of our HTTP server's first listener in a Caddy JSON config (what an adopted router keeps serving on). */
export function listenPortOf(config: unknown): number | undefined {
  const servers = recordOf(recordOf(recordOf(recordOf(config)?.apps)?.http)?.servers);
  const listen = recordOf(servers?.[SERVER_NAME])?.listen;
  const first = Array.isArray(listen) ? listen[0] : undefined;
  if (typeof first !== "string") return undefined;
  const m = /:([0-9]{1,5})$/.exec(first);
  const port = m ? Number(m[1]) : 0;
  return port > 0 && port < 65536 ? port : undefined;
}

/** Parses state.json; anything malformed counts as no record (a new Caddy is launched then). */
export function parseCaddyRecord(text: string | undefined): CaddyRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const admin = recordOf(JSON.parse(text))?.admin;
    return typeof admin === "string" && /^127\.0\.0\.1:[0-9]{1,5}$/.test(admin) ? { admin } : undefined;
  } catch {
    return undefined;
  }
}
