// Runs the real agent process (runtime-agent/main.ts) on a RootEnv's runtime: the same runc root, storage, CNI
// bridge, subnet, cgroup parent and name prefix, so a root test can inspect and clean up what the agent creates.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import type { RootEnv } from "./root-env.ts";

const root = path.resolve(import.meta.dirname, "../..");

export interface AgentProcessOptions {
  controlPlane: string;
  joinToken: string;
  nodeName: string;
  /** First of 100 host ports the agent may publish on. */
  portBase: number;
  extra?: string[];
}

/**
 * The agent's flags for `env`: a node reached on its bridge gateway, as in single-machine mode (the router on this
 * machine connects there), plain CNI, a fast tick.
 */
export function agentFlagsFor(env: RootEnv, o: AgentProcessOptions): string[] {
  const c = env.backend.config;
  return [
    `--control-plane=${o.controlPlane}`,
    `--join-token=${o.joinToken}`,
    `--state-dir=${path.join(env.tmp, "agent")}`,
    `--runc-root=${c.runcRoot}`,
    // Its own run dir: the environment's backend (same runc root) keeps its default one.
    `--run-dir=${path.join(env.tmp, "agent-containers")}`,
    `--storage-root=${c.storage.root}`,
    `--storage-run-root=${c.storage.runRoot}`,
    `--cni-network=${c.cni.networkName}`,
    `--cni-bridge=${c.cni.bridge}`,
    `--subnet=${c.cni.subnet}`,
    `--cgroup-parent=${c.cgroupParent}`,
    `--name-prefix=${c.namePrefix}`,
    `--node-name=${o.nodeName}`,
    `--node-address=${env.gateway}`,
    `--host-ip=${env.gateway}`,
    `--host-ports=${o.portBase}-${o.portBase + 99}`,
    "--ip-masq=false",
    "--tick-ms=250",
    ...(o.extra ?? []),
  ];
}

/** Starts the agent with `flags` and a minimal environment; stderr is drained (shown with BERTH_TEST_LOG_LEVEL). */
export function spawnAgent(flags: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "runtime-agent/main.ts", ...flags], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", BERTH_LOG_LEVEL: "warn", NODE_ENV: "test" },
  });
  child.stderr?.on("data", (d: Buffer) => {
    if (process.env.BERTH_TEST_LOG_LEVEL) process.stderr.write(`[agent] ${d.toString()}`);
  });
  return child;
}

/** Stops the agent with `signal` and waits for it to exit (containers keep running under conmon). */
export async function stopAgent(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}
