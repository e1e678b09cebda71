// Children a control plane killed with -9 leaves behind (its supervised registry and local agent keep running as
// orphans: nothing stops them). The next start finds them by their command line (and environment) and stops them
// before starting its own, so two registries never serve one store and two agents never share one state dir.
import fs from "node:fs";
import type { Logger } from "../logger.ts";

/** True if `pid` runs (and is not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

/** What identifies a leftover: every `argv` entry appears in its command line, every `env` entry in its environment. */
export interface LeftoverMatch {
  argv: string[];
  env?: string[];
}

/** Pids (other than ours) whose command line and environment hold every entry of `match`. */
export function findLeftovers(match: LeftoverMatch): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (!match.argv.every((a) => argv.includes(a))) continue;
      if (match.env?.length) {
        const env = fs.readFileSync(`/proc/${p}/environ`, "utf8").split("\0");
        if (!match.env.every((e) => env.includes(e))) continue;
      }
      pids.push(Number(p));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** SIGTERM to every leftover matching `match`, SIGKILL to those still running after `graceMs`; resolves once gone. */
export async function stopLeftovers(
  match: LeftoverMatch,
  what: string,
  log: Logger,
  graceMs = 10_000,
): Promise<number[]> {
  const pids = findLeftovers(match);
  if (pids.length === 0) return pids;
  log.warn({ pids }, `stopping the ${what} left running by an earlier control plane`);
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids.filter(processAlive)) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  const wait = async (ms: number) => {
    for (const end = Date.now() + ms; Date.now() < end && pids.some(processAlive);)
      await new Promise((r) => setTimeout(r, 100));
  };
  signal("SIGTERM");
  await wait(graceMs);
  signal("SIGKILL");
  await wait(2_000);
  return pids;
}
