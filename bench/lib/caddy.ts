// Benchmark helpers: a bare `caddy run` that the benchmark configures itself (no supervisor, no restart watcher), so
// variants of the generated config can be loaded and compared, plus small process and HTTP utilities.
// Loopback only; every process started here is tracked and killed by killAll().
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { adminOnlyConfig, type CaddyConfig } from "../../server/router/caddy-config.ts";

export const CADDY_BIN = "/usr/bin/caddy";

const children = new Set<ChildProcess>();

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns a child that killAll() will stop; `cpus` pins it (and its threads) with taskset, e.g. "1" or "0,1". */
export function track(
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; cpus?: string } = {},
) {
  const [cmd, argv] = opts.cpus ? ["/usr/bin/taskset", ["-c", opts.cpus, command, ...args]] : [command, args];
  const env = (opts.env ?? process.env) as NodeJS.ProcessEnv;
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env });
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

/** One HTTP request on a fresh connection (Caddy drops idle admin connections when a load replaces its config). */
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

export interface BareCaddy {
  adminPort: number;
  pid: number;
  /** POSTs a full config to /load; resolves with the time the admin API took (ms). */
  load(config: CaddyConfig): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts `caddy run` with an admin-only config in `dir` and the same minimal environment CaddyProcess uses, plus
 * `extraEnv` (e.g. GOMAXPROCS); `cpus` pins it with taskset.
 */
export async function startBareCaddy(dir: string, extraEnv: Record<string, string> = {}, cpus?: string) {
  fs.mkdirSync(dir, { recursive: true });
  for (const sub of ["data", "config", "home"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const adminPort = await freeLoopbackPort();
  const configFile = path.join(dir, "initial.json");
  fs.writeFileSync(configFile, JSON.stringify(adminOnlyConfig(`127.0.0.1:${adminPort}`)));
  const env = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    HOME: path.join(dir, "home"),
    XDG_DATA_HOME: path.join(dir, "data"),
    XDG_CONFIG_HOME: path.join(dir, "config"),
    ...extraEnv,
  };
  const child = track(CADDY_BIN, ["run", "--config", configFile], { env, cpus });
  let stderr = "";
  child.stdout?.resume();
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`caddy exited: ${stderr}`);
    const ok = await request(adminPort, "GET", "/config/").then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    if (i > 200) throw new Error(`caddy admin did not answer: ${stderr}`);
    await sleep(50);
  }
  const caddy: BareCaddy = {
    adminPort,
    pid: child.pid ?? 0,
    async load(config) {
      const t = performance.now();
      const res = await request(adminPort, "POST", "/load", JSON.stringify(config));
      if (res.status !== 200) throw new Error(`caddy /load ${res.status}: ${res.body.slice(0, 500)}`);
      return performance.now() - t;
    },
    stop: () => stopChild(child),
  };
  return caddy;
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
