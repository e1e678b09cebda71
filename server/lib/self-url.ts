// How processes on this machine (git hooks, the local agent) reach the control plane: over loopback when it listens
// on every address or on loopback, else on the one address it listens on (HOST=10.0.0.5 does not answer 127.0.0.1).
import type { Config } from "../config.ts";

const ANY = new Set(["", "0.0.0.0", "::", "[::]"]);

/** Host part (IPv6 bracketed) that reaches this control plane from this machine. */
export function selfHost(host: string): string {
  if (ANY.has(host) || host === "localhost" || host.startsWith("127.") || host === "::1") return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** Base URL (no trailing slash) for requests from this machine to the control plane. */
export function selfUrl(config: Pick<Config, "host" | "port">): string {
  return `http://${selfHost(config.host)}:${config.port}`;
}
