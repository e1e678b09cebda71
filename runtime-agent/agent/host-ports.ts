// Host-port allocation for instances with a port: the lowest port of the node's range that neither this agent's
// records nor the host use. The host counts because a port can be taken behind the agent's back: a listener of
// another program, or a DNAT mapping left by containers of an earlier platform that died without a CNI DEL (such a
// rule wins over ours and the app would be unreachable while reported running).
import fs from "node:fs/promises";
import { run } from "../runtime/exec.ts";

const IPTABLES = "/usr/sbin/iptables";

/** Picks a port in [min, max] not in `used`; throws when the range is exhausted. */
export function allocateHostPort(used: ReadonlySet<number>, min: number, max: number): number {
  for (let p = min; p <= max; p++) if (!used.has(p)) return p;
  throw new Error(`no free host port in ${min}-${max}`);
}

/** Reads which host ports the host already uses; never rejects (what it cannot read counts as nothing). */
export type HostPortsInUse = () => Promise<Set<number>>;

/**
 * Destination ports matched by the rules of `iptables -t nat -S` (`--dport N`, `--dports A,B:C`): any of them may
 * be redirected elsewhere, whoever made the rule. Over-inclusive on purpose: skipping a port costs nothing. Pure.
 */
export function natMatchedPorts(rules: string): Set<number> {
  const out = new Set<number>();
  for (const m of rules.matchAll(/--dports? (\S+)/g)) {
    for (const part of (m[1] as string).split(",")) {
      const [a, b] = part.split(":").map(Number);
      if (a === undefined || !Number.isInteger(a)) continue;
      const hi = b !== undefined && Number.isInteger(b) ? Math.min(b, 65_535) : a;
      // A wide range in some unrelated rule must not make the loop huge; 10,000 covers any node's port range.
      for (let p = a; p <= hi && p - a < 10_000; p++) out.add(p);
    }
  }
  return out;
}

/** Local ports in LISTEN state in a /proc/net/tcp or tcp6 table. Pure. */
export function listeningPorts(table: string): Set<number> {
  const out = new Set<number>();
  for (const line of table.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[3] !== "0A") continue; // TCP_LISTEN
    const port = Number.parseInt(cols[1]?.split(":")[1] ?? "", 16);
    if (Number.isInteger(port)) out.add(port);
  }
  return out;
}

/** The real reader: listeners of this network namespace and ports matched by NAT rules. */
export const hostPortsInUse: HostPortsInUse = async () => {
  const out = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await fs.readFile(table, "utf8").catch(() => "");
    for (const p of listeningPorts(text)) out.add(p);
  }
  const nat = await run(IPTABLES, ["-w", "-t", "nat", "-S"], { timeoutMs: 15_000 }).catch(() => ({ stdout: "" }));
  for (const p of natMatchedPorts(nat.stdout)) out.add(p);
  return out;
};
