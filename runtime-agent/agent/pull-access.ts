// Pull access to platform images: the control plane serves a read-only registry at /v2/ on the address the agent
// connects to, authenticated with the node's join token (so a team's node reads only its team's images). The agent
// writes a containers auth file for that host into its state dir (0600, never argv), merged with the operator's own
// `--registry-auth-file` for external registries, and pulls over plain HTTP only when the control plane URL is plain.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { AgentConfig } from "./config.ts";

/** What the storage layer needs to pull: an auth file and the hosts reached without TLS. */
export interface PullAccess {
  authFile: string;
  insecureRegistries: string[];
}

const AuthFile = z.object({ auths: z.record(z.string(), z.unknown()).default({}) }).loose();

/** The registry host of the control plane (`host[:port]` as the agent's WebSocket Host header sends it). */
export function controlPlaneRegistryHost(controlPlane: string): string {
  return new URL(controlPlane).host.toLowerCase();
}

/** The auth file contents: the operator's entries plus the control plane's (the join token as password). */
export function pullAuth(existing: unknown, host: string, joinToken: string): Record<string, unknown> {
  const base = AuthFile.safeParse(existing ?? {});
  if (!base.success) throw new Error('registry auth file is not a containers auth.json ({"auths": {...}})');
  const auth = Buffer.from(`node:${joinToken}`).toString("base64");
  return { ...base.data, auths: { ...base.data.auths, [host]: { auth } } };
}

/** Writes `<stateDir>/pull-auth.json` and returns the storage settings that use it. */
export async function preparePullAccess(config: AgentConfig): Promise<PullAccess> {
  const host = controlPlaneRegistryHost(config.controlPlane);
  const existing = config.registryAuthFile ? JSON.parse(await fs.readFile(config.registryAuthFile, "utf8")) : undefined;
  const authFile = path.join(config.stateDir, "pull-auth.json");
  await fs.mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const tmp = `${authFile}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(pullAuth(existing, host, config.joinToken)), { mode: 0o600 });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, authFile);
  const plain = /^(http|ws):$/.test(new URL(config.controlPlane).protocol);
  return {
    authFile,
    insecureRegistries: [...new Set([...config.insecureRegistries, ...(plain ? [host] : [])])],
  };
}
