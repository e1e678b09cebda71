// Benchmark helpers: small process and HTTP utilities (a tiny upstream, tracked children, medians).
// Loopback only; every process started here is tracked and killed by killAll().
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";

const children = new Set<ChildProcess>();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns a child that killAll() will stop; `cpus` pins it (and its threads) with taskset, e.g. "1" or "0,1". */
export function track(
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cpus?: string; detached?: boolean } = {},
) {
  const [cmd, argv] = opts.cpus ? ["/usr/bin/taskset", ["-c", opts.cpus, command, ...args]] : [command, args];
  const env = (opts.env ?? process.env) as NodeJS.ProcessEnv;
  // detached: its own session (setsid), as a daemon such as the router's HAProxy runs. With the kernel's autogroup
  // scheduling (sched_autogroup_enabled=1) a session is also a scheduling group, which changes how a loaded machine
  // shares its cores between the proxy and the benchmark's other processes.
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env, detached: opts.detached });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Stops a tracked child (SIGTERM, SIGKILL after 3 s) and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

export async function killAll(): Promise<void> {
  await Promise.all([...children].map(stopChild));
}

/** One HTTP request on a fresh connection. */
export function request(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: urlPath,
        agent: false,
        timeout: 30_000,
        headers:
          body === undefined
            ? headers
            : { ...headers, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The upstream used by the router benchmarks: a tiny Node HTTP server in its own process. */
// GET /__bench/connections answers how many TCP connections it has accepted so far (to see proxies' keep-alive reuse).
const UPSTREAM = `
const http = require("node:http");
const body = "hello from the upstream\\n";
let connections = 0;
const server = http.createServer((req, res) => {
  res.setHeader("Content-Type", "text/plain");
  res.end(req.url === "/__bench/connections" ? String(connections) : body);
});
server.on("connection", () => connections++);
server.keepAliveTimeout = 120000;
server.listen(Number(process.argv[1]), "127.0.0.1", () => process.stdout.write("ready\\n"));
`;

/** Connections the benchmark upstream on `port` has accepted so far (including this query's own). */
export async function upstreamConnections(port: number): Promise<number> {
  return Number((await request(port, "GET", "/__bench/connections")).body);
}

export async function startNodeUpstream(port: number, cpus?: string): Promise<ChildProcess> {
  const child = track(process.execPath, ["-e", UPSTREAM, String(port)], { cpus });
  child.stderr?.pipe(process.stderr);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}`)));
  });
  return child;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
