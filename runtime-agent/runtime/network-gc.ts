// Garbage collection of per-container network state whose container no longer exists: portmap's DNAT rules and
// chains, host-local IPAM leases and named network namespaces (their veths go with them). Such state stays behind
// when a container dies without a CNI DEL (the agent or the host crashed mid-teardown, the state dir was lost): a
// stale DNAT rule shadows the next instance given the same host port, a stale lease pins an address.
// Only this network's state is touched: rules whose portmap comment names this CNI network, leases in its own data
// dir, namespaces with this node's name prefix.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { run } from "./exec.ts";
import type { NetnsManager } from "./netns.ts";

const IPTABLES = "/usr/sbin/iptables";
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Splits one `iptables -S` rule into argv (double quotes group words, as iptables prints comments). Pure. */
export function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] as string));
  return out;
}

/** A portmap rule of one container: its argv (from `-A`), the container id and the per-container chain it jumps to. */
export interface PortmapRule {
  argv: string[];
  id: string;
  target: string;
}

/** The rules of `iptables -t nat -S` that portmap added for containers of `network`. Pure. */
export function portmapRules(natRules: string, network: string): PortmapRule[] {
  const out: PortmapRule[] = [];
  for (const line of natRules.split("\n")) {
    if (!line.startsWith("-A ")) continue;
    const argv = splitRule(line);
    const comment = argv[argv.indexOf("--comment") + 1];
    const m = comment ? /^dnat name: "([^"]*)" id: "([^"]*)"$/.exec(comment) : null;
    if (!m || m[1] !== network) continue;
    out.push({ argv, id: m[2] as string, target: argv[argv.indexOf("-j") + 1] ?? "" });
  }
  return out;
}

/** What a collection removed. */
export interface NetworkGarbage {
  mappings: number;
  leases: number;
  netns: number;
}

/** Where this node's network state lives. */
export interface NetworkGcTarget {
  network: string;
  /** host-local's data dir (leases are in `<dataDir>/<network>/<ip>`). */
  ipamDataDir: string;
  namePrefix: string;
  netns: NetnsManager;
  /** Every container id that exists (read after the state above, so a container being created counts). */
  liveIds: () => Promise<Set<string>>;
  log: Logger;
}

/**
 * Removes the network state of containers that no longer exist. The state is listed first and the live ids read
 * after it: a create writes its record before its CNI ADD, so whatever state was listed belongs to a container whose
 * record is visible by then, and nothing of a container being created is taken for garbage.
 */
export async function collectNetworkGarbage(t: NetworkGcTarget): Promise<NetworkGarbage> {
  const nat = (await run(IPTABLES, ["-w", "-t", "nat", "-S"], { timeoutMs: 15_000 })).stdout;
  const rules = portmapRules(nat, t.network);
  const leaseDir = path.join(t.ipamDataDir, t.network);
  const leaseFiles = (await fs.readdir(leaseDir).catch(() => [] as string[])).filter((f) => IPV4.test(f));
  const leases = await Promise.all(
    leaseFiles.map(async (f) => ({
      file: path.join(leaseDir, f),
      id: ((await fs.readFile(path.join(leaseDir, f), "utf8").catch(() => "")).split(/\r?\n/)[0] ?? "").trim(),
    })),
  );
  const namespaces = await t.netns.list(t.namePrefix);
  const live = await t.liveIds();
  const removed: NetworkGarbage = { mappings: 0, leases: 0, netns: 0 };

  const stale = rules.filter((r) => !live.has(r.id));
  const keptTargets = new Set(rules.filter((r) => live.has(r.id)).map((r) => r.target));
  for (const r of stale) {
    await run(IPTABLES, ["-w", "-t", "nat", "-D", ...r.argv.slice(1)], { timeoutMs: 15_000 }).then(
      () => (removed.mappings += 1),
      (err: unknown) => t.log.warn({ err, id: r.id }, "could not remove a stale port mapping"),
    );
  }
  for (const chain of new Set(stale.map((r) => r.target))) {
    if (!/^CNI-(DN|SN)-[0-9a-f]+$/.test(chain) || keptTargets.has(chain)) continue;
    await run(IPTABLES, ["-w", "-t", "nat", "-F", chain], { timeoutMs: 15_000 }).catch(() => undefined);
    await run(IPTABLES, ["-w", "-t", "nat", "-X", chain], { timeoutMs: 15_000 }).catch((err: unknown) =>
      t.log.warn({ err, chain }, "could not remove a stale port-mapping chain"),
    );
  }
  for (const l of leases) {
    if (l.id === "" || live.has(l.id)) continue;
    await fs.rm(l.file, { force: true }).then(() => (removed.leases += 1));
  }
  for (const name of namespaces) {
    if (live.has(name.slice(t.namePrefix.length))) continue;
    await t.netns.delete(name).then(
      () => (removed.netns += 1),
      (err: unknown) => t.log.warn({ err, netns: name }, "could not remove a stale network namespace"),
    );
  }
  if (removed.mappings + removed.leases + removed.netns > 0)
    t.log.info(removed, "removed network state of containers that no longer exist");
  return removed;
}
