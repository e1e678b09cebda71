// Maps the agent configuration onto the OCI backend's configuration (state under <stateDir>/runtime and /cni).
import path from "node:path";
import type { OciBackendConfigInput } from "../runtime/config.ts";
import type { AgentConfig } from "./config.ts";
import type { PullAccess } from "./pull-access.ts";
import { literalRouterSources } from "./router-sources.ts";

/**
 * The OciBackend configuration an agent with `config` uses (tests open the same one to inspect and clean up); `pull`
 * (from preparePullAccess) adds the control plane's registry; `routerSources` (resolveRouterSources) who may reach
 * published ports from outside, by default the configured or literal ones.
 */
export function backendConfigFor(
  config: AgentConfig,
  pull?: PullAccess,
  routerSources: "any" | string[] = literalRouterSources(config) ?? [],
): OciBackendConfigInput {
  return {
    stateDir: path.join(config.stateDir, "runtime"),
    runcRoot: config.runcRoot,
    storage: {
      root: config.storageRoot,
      runRoot: config.storageRunRoot,
      insecureRegistries: pull?.insecureRegistries ?? config.insecureRegistries,
      ...(pull ? { authFile: pull.authFile } : config.registryAuthFile ? { authFile: config.registryAuthFile } : {}),
    },
    cni: {
      networkName: config.cniNetwork,
      bridge: config.cniBridge,
      subnet: config.subnet,
      dataDir: path.join(config.stateDir, "cni"),
      ipMasq: config.ipMasq,
      ...(config.hostIp ? { hostIp: config.hostIp } : {}),
    },
    namePrefix: config.namePrefix,
    cgroupParent: config.cgroupParent,
    networkPolicy: { enabled: true, routerSources, publicPorts: config.publicPorts },
    ...(config.runDir ? { runDir: config.runDir } : {}),
    userNamespaces: { enabled: config.userNamespaces, ...config.usernsRange },
    diskLimits: config.diskLimits,
  };
}
