// CNI without libcni: the agent executes the plugins itself (bridge + host-local IPAM + portmap, and loopback),
// exactly as the CNI spec describes: env CNI_* plus the network config on stdin, a JSON result on stdout.
import path from "node:path";
import type { Logger } from "pino";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import { gatewayOf } from "./network-policy.ts";

export const CNI_VERSION = "1.0.0";

export interface CniNetwork {
  pluginDir: string;
  networkName: string;
  bridge: string;
  subnet: string;
  dataDir: string;
  ipMasq: boolean;
  hostIp?: string;
}

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp";
  hostIP?: string;
}

/** What an ADD produced; persisted so DEL can pass it back as prevResult. */
export interface CniAttachment {
  ip: string;
  gateway?: string;
  result: Record<string, unknown>;
}

/** Per-instance rate limit, each direction, in bits per second (CNI bandwidth plugin). */
export interface BandwidthLimit {
  bitsPerSec: number;
}

type PluginConf = Record<string, unknown> & {
  type: string;
  capabilities?: { portMappings?: boolean; bandwidth?: boolean };
};

/**
 * The bandwidth plugin's runtimeConfig for a limit: the same rate both ways (into the container: a token bucket on the
 * host veth; out of it: mirrored to an ifb device and shaped there). Burst = 100 ms at the rate, at least 64 KiB so a
 * full-size packet always fits. Pure.
 */
export function bandwidthRuntimeConfig(limit: BandwidthLimit): Record<string, number> {
  const rate = Math.round(limit.bitsPerSec);
  const burst = Math.max(Math.round(rate / 10), 64 * 1024 * 8);
  return { ingressRate: rate, ingressBurst: burst, egressRate: rate, egressBurst: burst };
}

/** The node's network as a CNI conflist: bridge with host-local IPAM, then portmap, then bandwidth. Pure. */
export function bridgeConflist(net: CniNetwork): { cniVersion: string; name: string; plugins: PluginConf[] } {
  return {
    cniVersion: CNI_VERSION,
    name: net.networkName,
    plugins: [
      {
        type: "bridge",
        bridge: net.bridge,
        isGateway: true,
        ipMasq: net.ipMasq,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          // Explicit (host-local's own default is the same): the policy and single-machine mode rely on it.
          ranges: [[{ subnet: net.subnet, gateway: gatewayOf(net.subnet) }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: net.dataDir,
        },
      },
      // No snat: it masquerades hairpin and 127.0.0.1:hostPort connections, and for the latter turns route_localnet on
      // for the bridge, which lets packets addressed to 127.0.0.0/8 in from the bridge. Nothing needs it: the local
      // router reaches published ports on the bridge gateway, other hosts' routers on the node's address.
      { type: "portmap", capabilities: { portMappings: true }, snat: false },
      // Per-instance rate limits (runtimeConfig.bandwidth); without one the plugin passes the result through.
      { type: "bandwidth", capabilities: { bandwidth: true } },
    ],
  };
}

/** Runs the CNI plugins of one network. */
export class Cni {
  constructor(
    private readonly net: CniNetwork,
    private readonly log: Logger,
  ) {}

  /**
   * Sets up loopback and eth0 (with port mappings and the bandwidth limit) in the namespace at `netnsPath`. Loopback is
   * independent of the chain and runs beside it; portmap is skipped without mappings (it would only pass the result
   * through, and its DEL is harmless without an ADD). `onStep` gets each plugin's wall time (benchmarks).
   */
  async add(
    id: string,
    netnsPath: string,
    ports: PortMapping[],
    bandwidth?: BandwidthLimit,
    onStep?: (step: string, ms: number) => void,
  ): Promise<CniAttachment> {
    const timedExec = async (conf: Record<string, unknown>, ifName: string) => {
      const t = performance.now();
      try {
        return await this.exec("ADD", conf, id, netnsPath, ifName);
      } finally {
        onStep?.(`cni ${String(conf.type)}`, performance.now() - t);
      }
    };
    const loopback = timedExec({ cniVersion: CNI_VERSION, name: "loopback", type: "loopback" }, "lo");
    loopback.catch(() => undefined);
    const list = bridgeConflist(this.net);
    let prev: Record<string, unknown> | undefined;
    try {
      for (const plugin of list.plugins) {
        if (plugin.capabilities?.portMappings && ports.length === 0) continue;
        prev = await timedExec(this.pluginConf(list.name, plugin, ports, prev, bandwidth), "eth0");
      }
    } finally {
      await loopback.catch(() => undefined);
    }
    await loopback;
    const result = prev ?? {};
    const ips = (result.ips ?? []) as { address?: string; gateway?: string }[];
    const v4 = ips.find((i) => typeof i.address === "string" && i.address.includes("."));
    if (!v4?.address) throw new RuntimeError("failed", `CNI ADD for ${id} returned no IPv4 address`);
    return { ip: v4.address.split("/")[0] as string, ...(v4.gateway ? { gateway: v4.gateway } : {}), result };
  }

  /** Tears the attachment down in reverse order; tolerant of a missing namespace or a half-done ADD. */
  async del(id: string, netnsPath: string, ports: PortMapping[], prevResult?: Record<string, unknown>): Promise<void> {
    const list = bridgeConflist(this.net);
    const errors: unknown[] = [];
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.exec("DEL", this.pluginConf(list.name, plugin, ports, prevResult), id, netnsPath, "eth0");
      } catch (err) {
        errors.push(err);
        this.log.warn({ err, id, plugin: plugin.type }, "CNI DEL failed");
      }
    }
    if (errors.length > 0) throw new RuntimeError("failed", `CNI DEL for ${id} failed`, { cause: errors[0] });
  }

  private pluginConf(
    name: string,
    plugin: PluginConf,
    ports: PortMapping[],
    prev?: Record<string, unknown>,
    bandwidth?: BandwidthLimit,
  ) {
    const conf: Record<string, unknown> = { cniVersion: CNI_VERSION, name, ...plugin };
    if (plugin.capabilities?.portMappings) {
      conf.runtimeConfig = {
        portMappings: ports.map((p) => ({ ...p, ...(this.net.hostIp ? { hostIP: this.net.hostIp } : {}) })),
      };
    }
    if (plugin.capabilities?.bandwidth && bandwidth)
      conf.runtimeConfig = { bandwidth: bandwidthRuntimeConfig(bandwidth) };
    if (prev) conf.prevResult = prev;
    return conf;
  }

  private async exec(
    command: "ADD" | "DEL",
    conf: Record<string, unknown>,
    id: string,
    netnsPath: string,
    ifName: string,
  ): Promise<Record<string, unknown>> {
    const type = String(conf.type);
    if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new RuntimeError("invalid", `invalid CNI plugin type ${type}`);
    const { stdout } = await run(path.join(this.net.pluginDir, type), [], {
      input: JSON.stringify(conf),
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: id,
        CNI_NETNS: netnsPath,
        CNI_IFNAME: ifName,
        CNI_PATH: this.net.pluginDir,
      },
      timeoutMs: 30_000,
    });
    if (command === "DEL" || stdout.trim() === "") return {};
    return JSON.parse(stdout) as Record<string, unknown>;
  }
}
