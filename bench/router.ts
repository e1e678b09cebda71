// Benchmark: requests/s and latency of one small upstream reached directly, through Berth's Router (Caddy, with
// access lines parsed in this process) and through a plain nginx reverse proxy, with wrk, on loopback only.
// Needs /usr/bin/caddy, /usr/sbin/nginx and /usr/bin/wrk (apt-get install -y caddy nginx wrk); no root needed.
// Run: npx tsx bench/router.ts [seconds] [connections]   Results go to stdout; copy them into docs/benchmarks.md.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createLogger } from "../server/logger.ts";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { Router } from "../server/router/router.ts";

const seconds = Number(process.argv[2] ?? 10);
const connections = Number(process.argv[3] ?? 50);
const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-router-"));
const children: ChildProcess[] = [];

// The upstream runs in its own process so that it does not compete with this process's access-line parsing.
const UPSTREAM = `
const http = require("node:http");
const body = "hello from the upstream\\n";
http.createServer((req, res) => { res.setHeader("Content-Type", "text/plain"); res.end(body); })
  .listen(Number(process.argv[1]), "127.0.0.1", () => process.stdout.write("ready\\n"));
`;

async function startUpstream(port: number): Promise<void> {
  const child = spawn(process.execPath, ["-e", UPSTREAM, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`upstream exited with ${code}`)));
  });
}

async function startNginx(port: number, upstreamPort: number): Promise<void> {
  const conf = path.join(dir, "nginx.conf");
  const tmp = (name: string) => path.join(dir, `nginx-${name}`);
  fs.writeFileSync(
    conf,
    `daemon off;
worker_processes auto;
pid ${tmp("pid")};
error_log ${tmp("error.log")} warn;
events { worker_connections 1024; }
http {
  access_log ${tmp("access.log")};
  client_body_temp_path ${tmp("body")};
  proxy_temp_path ${tmp("proxy")};
  fastcgi_temp_path ${tmp("fastcgi")};
  uwsgi_temp_path ${tmp("uwsgi")};
  scgi_temp_path ${tmp("scgi")};
  upstream app { least_conn; server 127.0.0.1:${upstreamPort} max_fails=1 fail_timeout=5s; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    server_name bench.test;
    client_max_body_size 100m;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      proxy_pass http://app;
    }
  }
  server { listen 127.0.0.1:${port} default_server; return 404; }
}
`,
  );
  const child = spawn("/usr/sbin/nginx", ["-p", dir, "-c", conf, "-e", tmp("error.log")], { stdio: "inherit" });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(tmp("pid"))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("nginx did not start");
}

interface Result {
  rps: number;
  p50: string;
  p99: string;
  errors: string;
}

async function wrk(port: number): Promise<Result> {
  const args = ["-t2", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", "Host: bench.test"];
  const { stdout } = await run("/usr/bin/wrk", [...args, `http://127.0.0.1:${port}/`]);
  const rps = Number(/Requests\/sec:\s+([0-9.]+)/.exec(stdout)?.[1] ?? NaN);
  const p = (q: string) => new RegExp(`^\\s+${q}%\\s+(\\S+)`, "m").exec(stdout)?.[1] ?? "?";
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  const sock = /Socket errors: (.*)/.exec(stdout)?.[1];
  return {
    rps,
    p50: p("50"),
    p99: p("99"),
    errors: [errs && `non-2xx ${errs}`, sock].filter(Boolean).join("; ") || "0",
  };
}

async function main() {
  for (const bin of ["/usr/bin/caddy", "/usr/sbin/nginx", "/usr/bin/wrk"]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} missing: apt-get install -y caddy nginx wrk`);
  }
  const upstreamPort = await freeLoopbackPort();
  await startUpstream(upstreamPort);
  const router = new Router({ listenHost: "127.0.0.1", listenPort: 0, dataDir: dir, log: createLogger("warn") });
  let accessLines = 0;
  router.on("access", () => accessLines++);
  await router.start();
  await router.apply([
    { app: "bench", hosts: ["bench.test"], maintenance: false, upstreams: [`127.0.0.1:${upstreamPort}`] },
  ]);
  const nginxPort = await freeLoopbackPort();
  await startNginx(nginxPort, upstreamPort);
  try {
    const load = os.loadavg()[0]?.toFixed(1);
    process.stdout.write(`wrk -t2 -c${connections} -d${seconds}s, ${os.cpus().length} cores, load average ${load}\n\n`);
    const rows: [string, Result][] = [];
    // Warm every path once so connection pools and JITs are not part of the first measurement.
    for (const port of [upstreamPort, router.port, nginxPort])
      await run("/usr/bin/wrk", ["-t1", "-c4", "-d1s", "-H", "Host: bench.test", `http://127.0.0.1:${port}/`]);
    rows.push(["direct (node upstream)", await wrk(upstreamPort)]);
    const before = accessLines;
    rows.push(["Berth Router (Caddy 2.6)", await wrk(router.port)]);
    const caddyRequests = accessLines - before;
    rows.push(["nginx reverse proxy", await wrk(nginxPort)]);
    const direct = rows[0]![1].rps;
    process.stdout.write("| path | requests/s | p50 | p99 | errors | vs direct |\n|---|---|---|---|---|---|\n");
    for (const [name, r] of rows) {
      process.stdout.write(
        `| ${name} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${(r.rps / direct).toFixed(2)} |\n`,
      );
    }
    // Lines can lag behind the last response; give the socket a moment before reporting the count.
    await new Promise((r) => setTimeout(r, 1000));
    process.stdout.write(
      `\naccess lines parsed during the Caddy run: ${caddyRequests} (total so far ${accessLines})\n`,
    );
  } finally {
    await router.stop();
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  for (const c of children) c.kill("SIGKILL");
  process.exitCode = 1;
});
