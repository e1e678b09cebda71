// Benchmark: density on one node (issue 19 targets: N=100 idle busybox httpd instances of 32 MB on this 2-core node all
// running, the agent's CPU under 5% of a core at rest, per-instance host memory overhead (conmon + agent) measured,
// per-start p50 at N=100 no more than 2x the one at N=10). Real everything (bench/lib/platform.ts): control plane,
// registry, router, a real agent process (runc, conmon, CNI), the app pushed with git. Placement counts requests:
// the type asks 32 MB and 0.01 CPU per instance (its CPU limit stays 1), so 100 fit on 2 cores.
// Per start: the instance row's creation (placement) to the agent's `running` event (start path + TCP health check),
// for 10 instances started together with 0 running, and 10 started together with N-10 running.
// Run: sudo npx tsx bench/density.ts [N=100]
// Results go to stdout; copy them into docs/benchmarks.md.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { cpuSeconds, loadAverage, type Platform, rssKiB, sleep, startPlatform, until } from "./lib/platform.ts";

const N = Number(process.argv[2] ?? 100);
const STEP = 10;
const APP = "densb";
const REST_S = 20;

const pct = (xs: number[], q: number) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))] ?? NaN;
};

/** Scales web to `n` and waits until all run; returns the start times (ms) of the instances that are new. */
async function scaleTo(p: Platform, n: number): Promise<number[]> {
  const db = p.cp.services.db;
  const app = await db.app.findUniqueOrThrow({ where: { name: APP } });
  const before = new Set(
    (await db.instance.findMany({ where: { appId: app.id }, select: { id: true } })).map((i) => i.id),
  );
  const r = await p.api.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: n }] });
  if (r.status !== 200) throw new Error(`scale failed: ${JSON.stringify(r.body)}`);
  const rows = await until(
    `${n} running`,
    async () => {
      const all = await db.instance.findMany({ where: { appId: app.id, desired: "running" } });
      const failed = all.find((i) => i.state === "failed" || i.state === "crashed");
      if (failed) throw new Error(`${failed.id} ${failed.state}: ${failed.reason}`);
      return all.length === n && all.every((i) => i.state === "running" && i.startedAt) && all;
    },
    600_000,
  );
  return rows.filter((i) => !before.has(i.id)).map((i) => (i.startedAt as Date).getTime() - i.createdAt.getTime());
}

/** The agent's CPU use at rest (% of one core) over REST_S seconds. */
async function agentCpuAtRest(p: Platform): Promise<number> {
  const pid = p.agent.pid as number;
  await sleep(5_000); // let the last starts' health checks and events settle
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(REST_S * 1000);
  return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

/** RSS (KiB) of this app's conmon processes: one per container. */
function conmonRss(): { count: number; kib: number } {
  const out = execFileSync("ps", ["-C", "conmon", "-o", "pid=,rss=,args="], { encoding: "utf8" }).trim();
  let count = 0;
  let kib = 0;
  for (const line of out.split("\n")) {
    if (!line.includes(`${APP}-web-`)) continue;
    count++;
    kib += Number(line.trim().split(/\s+/)[1]);
  }
  return { count, kib };
}

async function main(p: Platform) {
  const r = await p.api.req("PATCH", `/api/v1/apps/${APP}/formation`, {
    updates: [{ type: "web", quantity: 0, memoryMb: 32, memoryRequestMb: 32, cpuRequest: 0.01 }],
  });
  if (r.status !== 200) throw new Error(`limits failed: ${JSON.stringify(r.body)}`);
  await until("v1 stopped", async () => (await p.cp.services.db.instance.count()) === 0);
  const agentRss0 = rssKiB(p.agent.pid as number);
  const first = await scaleTo(p, STEP);
  const cpuAtStep = await agentCpuAtRest(p);
  const rssAtStep = rssKiB(p.agent.pid as number);
  const conmonAtStep = conmonRss();
  if (N > 2 * STEP) await scaleTo(p, N - STEP);
  const last = N > STEP ? await scaleTo(p, N) : [];
  const cpuAtN = await agentCpuAtRest(p);
  const rssAtN = rssKiB(p.agent.pid as number);
  const conmonAtN = conmonRss();
  const mem = os.totalmem() / 1024 ** 3;
  const hostMemPerInstance = (conmonAtN.kib + (rssAtN - agentRss0)) / N;

  process.stdout.write(
    `\ndensity: busybox httpd instances of 32 MB (request 32 MB, 0.01 CPU; CPU limit 1) through the whole platform on ` +
      `one node, ${os.cpus().length} cores, ${mem.toFixed(0)} GiB, load average ${loadAverage()}\n\n`,
  );
  process.stdout.write(
    "| running | per start p50 (ms) | p90 (ms) | agent CPU at rest (% of a core) | agent RSS (MiB) | conmon RSS per instance (KiB) |\n|---|---|---|---|---|---|\n",
  );
  process.stdout.write(
    `| ${STEP} (started 0 -> ${STEP}) | ${pct(first, 0.5).toFixed(0)} | ${pct(first, 0.9).toFixed(0)} | ${cpuAtStep.toFixed(1)} | ` +
      `${(rssAtStep / 1024).toFixed(0)} | ${(conmonAtStep.kib / Math.max(1, conmonAtStep.count)).toFixed(0)} (${conmonAtStep.count} conmon) |\n`,
  );
  if (N > STEP) {
    process.stdout.write(
      `| ${N} (started ${N - STEP} -> ${N}) | ${pct(last, 0.5).toFixed(0)} | ${pct(last, 0.9).toFixed(0)} | ${cpuAtN.toFixed(1)} | ` +
        `${(rssAtN / 1024).toFixed(0)} | ${(conmonAtN.kib / Math.max(1, conmonAtN.count)).toFixed(0)} (${conmonAtN.count} conmon) |\n`,
    );
    const ratio = pct(last, 0.5) / pct(first, 0.5);
    process.stdout.write(
      `\nper-start p50 at N=${N} / at N=${STEP}: ${ratio.toFixed(2)}x (target <= 2x: ${ratio <= 2 ? "met" : "MISSED"}); ` +
        `agent CPU at rest with ${N}: ${cpuAtN.toFixed(1)}% (target < 5%: ${cpuAtN < 5 ? "met" : "MISSED"}); ` +
        `host memory per instance (conmon RSS + agent RSS growth since 0 instances): ${(hostMemPerInstance / 1024).toFixed(2)} MiB\n`,
    );
  }
  process.stdout.write(`load average after: ${loadAverage()}\n`);
}

const p = await startPlatform(APP, { hostPorts: N + 20 });
let failed = false;
try {
  await main(p);
} catch (err) {
  failed = true;
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
}
const problems = await p.close();
if (problems.length) process.stderr.write(`cleanup problems:\n${problems.join("\n")}\n`);
if (failed || problems.length) process.exitCode = 1;
