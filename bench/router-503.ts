// The 503 burst of issue 16, reproduced without containers: an app's only instance is routed before it listens (a
// new instance during a redeploy), one request fails against it, then the instance comes up and the route is
// applied again. Measured for the router (HAProxy): how long requests keep
// getting 5xx after the instance listens, and how many did at a steady rate. Loopback only, no root.
// Run: npx tsx bench/router-503.ts [rate=200] [reps=3]
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../server/logger.ts";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { HaproxyRouter, type RouteEntry } from "../server/router/haproxy-router.ts";

const RATE = Number(process.argv[2] ?? 200);
const REPS = Number(process.argv[3] ?? 3);
const HOST = "burst.test";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-503-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/", headers: { host: HOST }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(5000, () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

async function once(router: HaproxyRouter): Promise<{ burstMs: number; failed: number }> {
  const port = await freeLoopbackPort();
  const route: RouteEntry = { app: "burst", hosts: [HOST], maintenance: false, upstreams: [`127.0.0.1:${port}`] };
  await router.apply([route]);
  await get(router.port); // fails: nothing listens yet, so passive health marks the instance down
  const server = http.createServer((_q, r) => r.end("ok"));
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const up = performance.now();
  await router.apply([{ ...route, maintenance: true }]);
  await router.apply([route]); // the scheduler's next route update
  let failed = 0;
  let lastFail = up;
  const end = up + 8000;
  const inflight: Promise<void>[] = [];
  while (performance.now() < end) {
    inflight.push(
      get(router.port).then((status) => {
        if (status !== 200) {
          failed++;
          lastFail = Math.max(lastFail, performance.now());
        }
      }),
    );
    await sleep(1000 / RATE);
  }
  await Promise.all(inflight);
  await new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  });
  await router.apply([]);
  return { burstMs: lastFail - up, failed };
}

async function main() {
  const log = createLogger("warn");
  const hap = new HaproxyRouter({ listenHost: "127.0.0.1", listenPort: 0, dataDir: path.join(dir, "hap"), log });
  try {
    await hap.start();
    process.stdout.write(
      `503 burst, ${new Date().toISOString()}, load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}: ` +
        `one request fails against an app's only instance before it listens, then it listens and the route is ` +
        `applied again; requests at ~${RATE}/s for 8 s\n\n| router | round | 5xx/errors after the instance listens | ` +
        `last failure, ms after it listens |\n|---|---|---|---|\n`,
    );
    for (let rep = 1; rep <= REPS; rep++) {
      const res = await once(hap);
      process.stdout.write(`| HAProxy router | ${rep} | ${res.failed} | ${res.burstMs.toFixed(0)} |\n`);
    }
  } finally {
    await hap.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
