// wrk runs and their parsed results, plus per-process CPU accounting from /proc (to compare proxies per request
// rather than per wall-clock second on a shared 2-core machine).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const WRK_BIN = "/usr/bin/wrk";

export interface WrkResult {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  /** "0" or a short description of non-2xx responses and socket errors. */
  errors: string;
}

export interface WrkOptions {
  port: number;
  host: string;
  seconds: number;
  connections: number;
  threads?: number;
  /** taskset CPU list for wrk. */
  cpus?: string;
  /** Lua script and its arguments (after `--`). */
  script?: string;
  scriptArgs?: string[];
}

/** "1.23ms" / "850.00us" / "1.02s" -> ms. */
function toMs(v: string | undefined): number {
  const m = /^([0-9.]+)(us|ms|s|m)$/.exec(v ?? "");
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads ?? 2}`,
    `-c${o.connections}`,
    `-d${o.seconds}s`,
    "--latency",
    "-H",
    `Host: ${o.host}`,
    ...(o.script ? ["-s", o.script] : []),
    `http://127.0.0.1:${o.port}/`,
    ...(o.scriptArgs?.length ? ["--", ...o.scriptArgs] : []),
  ];
  const [cmd, argv] = o.cpus ? ["/usr/bin/taskset", ["-c", o.cpus, WRK_BIN, ...args]] : [WRK_BIN, args];
  const { stdout } = await run(cmd, argv, { timeout: (o.seconds + 30) * 1000 });
  const p = (q: string) => toMs(new RegExp(`^\\s+${q}%\\s+(\\S+)`, "m").exec(stdout)?.[1]);
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  const sock = /Socket errors: (.*)/.exec(stdout)?.[1];
  return {
    rps: Number(/Requests\/sec:\s+([0-9.]+)/.exec(stdout)?.[1] ?? NaN),
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN),
    p50: p("50"),
    p99: p("99"),
    errors: [errs && `non-2xx ${errs}`, sock].filter(Boolean).join("; ") || "0",
  };
}

/**
 * A wrk script for a fixed request rate: each connection waits a random 0..2x`mean` ms (whole ms, as wrk's delay()
 * takes) after each response before the next request, so C connections send about C*1000/(mean+latency) requests/s
 * with Poisson-like spacing instead of lockstep bursts. wrk times each request from its send, not from a schedule.
 */
export function writeFixedRateScript(dir: string): string {
  const file = path.join(dir, "fixed-rate.lua");
  fs.writeFileSync(
    file,
    `local mean = 19
function init(args)
  mean = tonumber(args[1])
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end
function delay()
  return math.floor(math.random() * 2 * mean + 0.5)
end
`,
  );
  return file;
}

/** user+system CPU time of processes (ms), from /proc/PID/stat; threads included, exited processes count 0. */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the full line)
    } catch {
      // gone
    }
  }
  return ticks * 10; // CLK_TCK is 100 on Linux
}

/** Direct children of a process (e.g. nginx workers of the master). */
export function childPids(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
