// Single-machine mode: `npm start` runs one node agent on this host, supervised (restarted if it dies), with a
// shared join token it creates for itself at every start. Names, subnet and host ports derive from the data
// dir, so two platforms with different data dirs can run side by side without sharing a bridge or ports.
import crypto from "node:crypto";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Services } from "../context.ts";
import { selfUrl } from "../lib/self-url.ts";
import { Supervisor } from "../lib/supervisor.ts";
import { createLocalJoinToken } from "./join-tokens.ts";
import { localAgentProbe } from "../health/probes.ts";
import { findLeftovers, stopLeftovers } from "../process/leftovers.ts";

const AGENT_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "runtime-agent", "main.ts");
export const LOCAL_TOKEN_NAME = "local agent";

/**
 * Agent settings for this data dir: unique bridge, subnet, cgroup parent, name prefix and host-port range. Instances
 * publish their ports on the bridge's gateway address, and the node registers that as its address, so the router
 * (HAProxy, on this machine) reaches them there: an address of this machine that nothing outside it reaches (the
 * agent's network policy refuses forwarded connections to it) and that needs no route_localnet, unlike 127.0.0.1.
 */
export function localAgentEnv(dataDir: string, controlPlane: string, joinToken: string): Record<string, string> {
  const h = crypto.createHash("sha256").update(dataDir).digest();
  const tag = h.toString("hex").slice(0, 6);
  const slot = h.readUInt16BE(3);
  const portBase = 20_000 + (slot % 8) * 5_000;
  const net24 = `10.${89 + (h[0]! % 100)}.${h[1]!}`;
  // The first host address is the bridge's (the agent's CNI config sets that gateway explicitly).
  const gateway = `${net24}.1`;
  const nodeName =
    os
      .hostname()
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "local";
  return {
    BERTH_CONTROL_PLANE_URL: controlPlane,
    BERTH_JOIN_TOKEN: joinToken,
    BERTH_STATE_DIR: path.join(dataDir, "agent"),
    BERTH_STORAGE_ROOT: path.join(dataDir, "agent", "storage"),
    // Runtime state belongs on /run (tmpfs): after a reboot no container of it is running anyway.
    BERTH_RUNC_ROOT: `/run/berth-${tag}/runc`,
    BERTH_STORAGE_RUN_ROOT: `/run/berth-${tag}/storage`,
    BERTH_CNI_NETWORK: `berth-${tag}`,
    BERTH_CNI_BRIDGE: `berth${tag}`,
    BERTH_BRIDGE_SUBNET: `${net24}.0/24`,
    BERTH_CGROUP_PARENT: `/berth-${tag}`,
    BERTH_NAME_PREFIX: `b${tag}-`,
    BERTH_HOST_PORTS: `${portBase}-${portBase + 4_999}`,
    BERTH_NODE_NAME: nodeName,
    BERTH_NODE_ADDRESS: gateway,
    BERTH_HOST_IP: gateway,
  };
}

/** Starts the supervised local agent (root only); returns its supervisor, or null when not root. */
export async function startLocalAgent(s: Services): Promise<Supervisor | null> {
  if (process.getuid?.() !== 0) {
    s.log.warn(
      "local node agent not started: it needs root (namespaces, cgroups); run `sudo npm start` to run apps here",
    );
    return null;
  }
  // A fresh shared token per start; earlier local tokens are revoked so no stale secret stays valid (tokens named
  // like this from before the `local` column are included: they were this agent's too).
  await s.db.nodeJoinToken.updateMany({
    where: { OR: [{ local: true }, { name: LOCAL_TOKEN_NAME, teamId: null }], revokedAt: null },
    data: { revokedAt: new Date() },
  });
  const { token } = await createLocalJoinToken(s.db, { name: LOCAL_TOKEN_NAME });
  // A control plane killed with -9 left its agent running (serving its containers): it stops gracefully (SIGTERM keeps
  // the containers) before ours starts, so two agents never share one state dir.
  await stopLeftovers(localAgentMatch(s.config.dataDir), "local agent", s.log);
  // Images are pulled through the control plane's /v2/ endpoint with the join token, like on any node
  // (runtime-agent/agent/pull-access.ts).
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...localAgentEnv(s.config.dataDir, selfUrl(s.config), token),
    // The router runs on this node: its public ports are the one way instances reach apps (their own or another
    // team's) by URL here, as anyone outside does; every other port of this machine stays closed to them.
    BERTH_PUBLIC_PORTS: [s.config.routerPort, s.config.httpsPort].filter((p) => p > 0).join(","),
  };
  const sup = new Supervisor(
    { name: "agent", command: process.execPath, args: ["--import", "tsx", AGENT_ENTRY], env },
    s.log.child({ component: "local-agent" }),
  );
  sup.start();
  s.health.register(
    "local-agent",
    localAgentProbe(s, () => sup.state()),
  );
  s.log.info({ node: env.BERTH_NODE_NAME, bridge: env.BERTH_CNI_BRIDGE }, "local node agent started");
  return sup;
}

/** How a local agent of this data dir is recognized: our agent entry point, with its state dir in the environment. */
function localAgentMatch(dataDir: string) {
  return { argv: [AGENT_ENTRY], env: [`BERTH_STATE_DIR=${path.join(dataDir, "agent")}`] };
}

/** Pids of running local agents of `dataDir` (tests check that none is left). */
export function localAgentPids(dataDir: string): number[] {
  return findLeftovers(localAgentMatch(dataDir));
}
