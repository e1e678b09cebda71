// An open-loop HTTP load generator in its own process (so the benchmark's own work cannot delay its timers).
// Request k is due at start + k/rate and is sent then, whatever happened to earlier requests; its latency is measured
// from when it was due (no coordinated omission). `mode` "new" opens a new connection per request (Connection:
// close), "keepalive" reuses idle connections from a pool. "stop" on stdin ends it; it prints one JSON line.
import { spawn, type ChildProcess } from "node:child_process";

const LOADGEN = `
const http = require("node:http");
const [port, host, rate, mode, urlPath] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5]];
const agent = mode === "keepalive" ? new http.Agent({ keepAlive: true, maxSockets: 256 }) : false;
const t0 = performance.now();
const lat = [];
const failures = [];
let sent = 0, done = 0, stopping = false;
function one(due) {
  sent++;
  let finished = false;
  const finish = (status, detail) => {
    if (finished) return;
    finished = true;
    done++;
    lat.push(performance.now() - due);
    if (status !== 200) failures.push({ at: performance.timeOrigin + due, status, detail });
    if (stopping && done === sent) report();
  };
  const req = http.request({ host: "127.0.0.1", port, path: urlPath, headers: { host }, agent, timeout: 10000 }, (res) => {
    res.on("data", () => undefined);
    res.on("end", () => finish(res.statusCode, ""));
    res.on("error", (e) => finish(0, (e.code || "") + " " + e.message));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => finish(0, (e.code || "") + " " + e.message + (req.reusedSocket ? " (reused keep-alive socket)" : "")));
  req.end();
}
const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - t0) * rate) / 1000);
  while (sent < due) one(t0 + (sent * 1000) / rate);
}, 1);
function report() {
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ sent, seconds, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] ?? NaN, failures }) + "\\n");
  process.exit(0);
}
process.stdin.on("data", (d) => {
  if (!String(d).includes("stop")) return;
  clearInterval(timer);
  stopping = true;
  if (done === sent) report();
});
process.stdout.write("ready\\n");
`;

export interface LoadFailure {
  /** Epoch ms at which the failed request was due. */
  at: number;
  /** HTTP status, 0 for a connection-level error. */
  status: number;
  detail: string;
}

export interface LoadResult {
  sent: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  failures: LoadFailure[];
}

export interface LoadOptions {
  port: number;
  host: string;
  rate: number;
  mode?: "new" | "keepalive";
  path?: string;
  /** taskset CPU list for the generator process. */
  cpus?: string;
}

/** Starts the generator; resolves once it is sending. `stop()` ends it and resolves with its results. */
export function startLoad(opts: LoadOptions): Promise<{ child: ChildProcess; stop(): Promise<LoadResult> }> {
  const args = ["-e", LOADGEN, String(opts.port), opts.host, String(opts.rate), opts.mode ?? "new", opts.path ?? "/"];
  const [cmd, argv] = opts.cpus
    ? ["/usr/bin/taskset", ["-c", opts.cpus, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(cmd, argv, { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout?.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`load generator exited with ${code}`));
    child.once("exit", onExit);
    let ready = false;
    child.stdout?.on("data", (d: string) => {
      out += d;
      if (ready || !out.startsWith("ready\n")) return;
      ready = true;
      child.off("exit", onExit);
      resolve({
        child,
        stop: () =>
          new Promise<LoadResult>((done, fail) => {
            child.stdout?.on("end", () => {
              try {
                done(JSON.parse(out.slice("ready\n".length).trim()) as LoadResult);
              } catch (err) {
                fail(err instanceof Error ? err : new Error(String(err)));
              }
            });
            child.stdin?.write("stop\n");
          }),
      });
    });
  });
}
