// Entry point of the Berth node agent (layer 0): config, root check, the real OCI backend, then the agent loop.
// It imports nothing from server/, app/ or Prisma so it can be bundled and deployed alone.
import { startAgent } from "./agent/agent.ts";
import { backendConfigFor } from "./agent/backend-config.ts";
import { loadAgentConfig } from "./agent/config.ts";
import { hostInfo } from "./agent/host-info.ts";
import { hostPortsInUse } from "./agent/host-ports.ts";
import { preparePullAccess } from "./agent/pull-access.ts";
import { isRoot, NEEDS_ROOT } from "./agent/root-check.ts";
import { resolveRouterSources } from "./agent/router-sources.ts";
import { createLogger } from "./log.ts";
import { OciBackend } from "./runtime/oci-backend.ts";

async function main(): Promise<void> {
  if (!isRoot()) {
    process.stderr.write(`${NEEDS_ROOT}\n`);
    process.exitCode = 1;
    return;
  }
  let config;
  let pull;
  try {
    config = loadAgentConfig(process.argv.slice(2), process.env);
    pull = await preparePullAccess(config);
  } catch (err) {
    process.stderr.write(`berth-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
    return;
  }
  const log = createLogger();
  const routerSources = await resolveRouterSources(config);
  log.info({ routerSources }, "published ports accept connections from outside this node from these sources only");
  const backend = await OciBackend.open(backendConfigFor(config, pull, routerSources), log);
  // The node's network policy survives in the kernel while the agent is down; put it back exactly as the records say
  // (and its hooks in place) before any instance is touched. A node that cannot isolate tenants does not run them.
  await backend.syncNetworkPolicy();
  if (!backend.userNamespaces)
    log.warn("user namespaces are off on this node (BERTH_USERNS=off): container root is host root");
  if (!config.diskLimits)
    log.warn("disk limits are off on this node (BERTH_DISK_LIMITS=off): writable layers are unbounded");
  const agent = await startAgent({
    controlPlane: config.controlPlane,
    joinToken: config.joinToken,
    stateDir: config.stateDir,
    backend,
    log,
    hostPorts: config.hostPorts,
    tickMs: config.tickMs,
    statsIntervalMs: config.statsIntervalMs,
    // Ports are picked free on the host, probed where the router connects, and leftovers of dead containers collected.
    hostPortsInUse,
    ...(config.hostIp ? { hostIp: config.hostIp } : {}),
    collectGarbage: async () => {
      await backend.collectNetworkGarbage();
      await backend.collectRootfsGarbage();
    },
    register: () =>
      hostInfo({
        diskPath: config.stateDir,
        userNamespaces: backend.userNamespaces,
        ...(config.nodeName ? { nodeName: config.nodeName } : {}),
        ...(config.nodeAddress ? { address: config.nodeAddress } : {}),
      }),
  });
  // SIGTERM/SIGINT stop the agent only: containers are owned by conmon and keep running (re-adopted on start).
  const shutdown = () => {
    log.info("stopping the agent; containers keep running");
    void agent.stop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`berth-agent: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
