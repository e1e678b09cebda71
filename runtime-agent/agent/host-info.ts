// What the agent tells the control plane about its host when it registers.
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import { AGENT_FEATURES, PROTOCOL_VERSION } from "../protocol/version.ts";
import type { RegisterParams } from "../protocol/register.ts";

/** Version reported by this agent build. */
export const AGENT_VERSION = "0.1.0";

function firstAddress(): string {
  for (const list of Object.values(os.networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

/** Collects hostname, address, CPUs, memory, disk of `diskPath`, kernel, cgroup version and the isolation mode. */
export async function hostInfo(opts: {
  nodeName?: string;
  address?: string;
  diskPath: string;
  /** Whether this node runs containers in user namespaces (shown in `berth nodes` and the dashboard). */
  userNamespaces: boolean;
}): Promise<RegisterParams> {
  const disk = await fs.statfs(opts.diskPath).catch(() => undefined);
  return {
    protocolVersion: PROTOCOL_VERSION,
    hostname: (opts.nodeName ?? os.hostname()).toLowerCase(),
    address: opts.address ?? firstAddress(),
    cpus: Math.max(1, os.availableParallelism()),
    memoryBytes: os.totalmem(),
    diskBytes: disk ? disk.blocks * disk.bsize : 0,
    kernel: os.release(),
    cgroupVersion: existsSync("/sys/fs/cgroup/cgroup.controllers") ? 2 : 1,
    userNamespaces: opts.userNamespaces,
    features: [...AGENT_FEATURES],
    agentVersion: AGENT_VERSION,
  };
}
