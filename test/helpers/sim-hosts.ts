// Simulated hosts for multi-node root tests: a bridge on this machine (the "LAN", with the control plane's address)
// and one network namespace per host, wired to it with a veth pair. A real agent process runs in each namespace
// (nsenter --net only: it shares the filesystem, so its containers, mounts and cgroups stay inspectable from here)
// with its own state, storage, runc root, CNI bridge, subnet and cgroup parent, as on a separate machine.
// destroy() removes all of it, even after failures.
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { cgroupMounts } from "../../runtime-agent/runtime/cgroups.ts";
import { run } from "../../runtime-agent/runtime/exec.ts";
import { unmountUnder } from "../../runtime-agent/test-support/mounts.ts";

const IP = "/usr/sbin/ip";
const NSENTER = "/usr/bin/nsenter";
const root = path.resolve(import.meta.dirname, "../..");

export interface SimHost {
  name: string;
  /** The host's address on the LAN (node address, host ports are published there). */
  address: string;
  netns: string;
  dir: string;
  runcRoot: string;
  storage: { root: string; runRoot: string };
  cgroupParent: string;
  agent: ChildProcess | undefined;
  /** Starts (or restarts) this host's agent against the control plane at `controlPlane` with `joinToken`. */
  startAgent(controlPlane: string, joinToken: string): void;
  /** SIGKILLs the agent (its containers keep running, like a host whose agent died). */
  killAgent(): Promise<void>;
  /** runc ids of the containers on this host. */
  containers(): Promise<string[]>;
}

export interface SimLan {
  /** This machine's address on the LAN: the control plane and router listen here. */
  gateway: string;
  /** The LAN bridge (other stand-in machines can be attached to it). */
  bridge: string;
  /** The LAN's first three octets (`10.200.x`). */
  prefix: string;
  hosts: SimHost[];
  destroy(): Promise<string[]>;
}

async function freeSlash24(prefix: string, from: number, to: number): Promise<number> {
  const { stdout } = await run(IP, ["-o", "-4", "addr"]);
  const { stdout: routes } = await run(IP, ["-o", "-4", "route"]);
  for (let i = 0; i < 50; i++) {
    const x = from + crypto.randomInt(to - from);
    if (!stdout.includes(`${prefix}.${x}.`) && !routes.includes(`${prefix}.${x}.`)) return x;
  }
  throw new Error(`no free ${prefix}.x.0/24`);
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

/**
 * Creates the LAN bridge and `count` hosts on it (no agents yet). `ipMasq`: the hosts' agents masquerade container
 * traffic leaving the host (as on a real node), so containers reach the LAN.
 */
export async function createSimLan(count: number, opts: { ipMasq?: boolean } = {}): Promise<SimLan> {
  const tag = crypto.randomBytes(3).toString("hex");
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-sim-"));
  const lan = await freeSlash24("10.200", 1, 250);
  const bridge = `bl${tag}`;
  const gateway = `10.200.${lan}.1`;
  const hosts: SimHost[] = [];
  const destroy = async (): Promise<string[]> => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      await fn().catch((err: unknown) => problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`));
    };
    for (const h of hosts) {
      await attempt(`${h.name} agent`, () => h.killAgent());
      for (const id of await h.containers().catch(() => [])) problems.push(`${h.name}: container ${id} left running`);
      // Deleting the namespace removes its CNI bridge, veths and iptables rules with it.
      await attempt(`${h.name} netns`, () => run(IP, ["netns", "delete", h.netns]));
      await attempt(`${h.name} cgroups`, async () => {
        for (const m of await cgroupMounts()) {
          await fs.rmdir(path.join(m.mountPoint, h.cgroupParent)).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== "ENOENT") throw err;
          });
        }
      });
      const storage = ["--root", h.storage.root, "--runroot", h.storage.runRoot, "--storage-driver", "overlay"];
      await attempt(`${h.name} buildah rm`, () => run("/usr/bin/buildah", [...storage, "rm", "--all"]));
      await attempt(`${h.name} buildah rmi`, () => run("/usr/bin/buildah", [...storage, "rmi", "--all", "--force"]));
    }
    await attempt("lan bridge", async () => {
      const { stdout } = await run(IP, ["-o", "link", "show"]);
      if (stdout.includes(` ${bridge}:`)) await run(IP, ["link", "delete", bridge]);
    });
    await attempt("mounts", () => unmountUnder(tmp));
    await attempt("temp dir", () => fs.rm(tmp, { recursive: true, force: true }));
    for (const h of hosts)
      await attempt(`${h.name} runc root`, () => fs.rm(h.runcRoot, { recursive: true, force: true }));
    return problems;
  };

  try {
    await run(IP, ["link", "add", bridge, "type", "bridge"]);
    await run(IP, ["addr", "add", `${gateway}/24`, "dev", bridge]);
    await run(IP, ["link", "set", bridge, "up"]);
    for (let k = 0; k < count; k++) {
      const letter = String.fromCharCode(97 + k);
      const name = `host-${letter}`;
      const netns = `bl${tag}${letter}`;
      const address = `10.200.${lan}.${k + 2}`;
      const dir = path.join(tmp, name);
      await fs.mkdir(dir, { recursive: true });
      const outer = `vl${tag}${letter}`;
      await run(IP, ["netns", "add", netns]);
      await run(IP, ["link", "add", outer, "type", "veth", "peer", "name", `vp${tag}${letter}`]);
      await run(IP, ["link", "set", `vp${tag}${letter}`, "netns", netns]);
      await run(IP, ["link", "set", outer, "master", bridge, "up"]);
      const inNs = (args: string[]) => run(IP, ["-n", netns, ...args]);
      await inNs(["link", "set", `vp${tag}${letter}`, "name", "eth0"]);
      await inNs(["addr", "add", `${address}/24`, "dev", "eth0"]);
      await inNs(["link", "set", "eth0", "up"]);
      await inNs(["link", "set", "lo", "up"]);
      const subnet = await freeSlash24("10.201", 1 + k * 120, 120 + k * 120);
      const runcRoot = `/run/berth-sim-${tag}${letter}`;
      const h: SimHost = {
        name,
        address,
        netns,
        dir,
        runcRoot,
        storage: { root: path.join(dir, "storage"), runRoot: path.join(dir, "run") },
        cgroupParent: `/berth-sim-${tag}${letter}`,
        agent: undefined,
        startAgent(controlPlane, joinToken) {
          const portBase = 32_000 + k * 1_000 + crypto.randomInt(9) * 100;
          const flags = [
            `--control-plane=${controlPlane}`,
            `--state-dir=${path.join(dir, "agent")}`,
            `--runc-root=${runcRoot}`,
            `--storage-root=${h.storage.root}`,
            `--storage-run-root=${h.storage.runRoot}`,
            `--cni-network=bs${tag}${letter}`,
            `--cni-bridge=bc${tag}${letter}`,
            `--subnet=10.201.${subnet}.0/24`,
            `--cgroup-parent=${h.cgroupParent}`,
            `--name-prefix=s${tag}${letter}-`,
            `--node-name=${tag}-${name}`,
            `--node-address=${address}`,
            `--host-ip=${address}`,
            `--host-ports=${portBase}-${portBase + 99}`,
            `--ip-masq=${opts.ipMasq ? "true" : "false"}`,
            "--tick-ms=250",
          ];
          // The token goes in the environment, not argv (visible in ps).
          const child = spawn(
            NSENTER,
            [`--net=/run/netns/${netns}`, "--", process.execPath, "--import", "tsx", "runtime-agent/main.ts", ...flags],
            {
              cwd: root,
              stdio: ["ignore", "ignore", "pipe"],
              env: {
                PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
                BERTH_JOIN_TOKEN: joinToken,
                BERTH_LOG_LEVEL: "warn",
                NODE_ENV: "test",
              },
            },
          );
          child.stderr?.on("data", (d: Buffer) => {
            if (process.env.BERTH_TEST_LOG_LEVEL) process.stderr.write(`[${name}] ${d.toString()}`);
          });
          h.agent = child;
        },
        async killAgent() {
          const child = h.agent;
          if (!child) return;
          // nsenter execs node in place, so the child pid is the agent itself.
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await exited(child);
        },
        async containers() {
          const { stdout } = await run("/usr/sbin/runc", ["--root", runcRoot, "list", "--format", "json"]).catch(
            () => ({
              stdout: "null",
            }),
          );
          const list = (JSON.parse(stdout.trim() || "null") ?? []) as { id: string }[];
          return list.map((c) => c.id);
        },
      };
      hosts.push(h);
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { gateway, bridge, prefix: `10.200.${lan}`, hosts, destroy };
}
