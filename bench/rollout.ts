// Benchmark: rollout time on an idle node (issue 19 target: from `config:set` to every new instance healthy and the
// old ones gone, web=3 of a small app, <= 10 s plus the app's own boot time, the 3 s drain included). Real
// everything (bench/lib/platform.ts): control plane, registry, router, a real agent process, a busybox httpd app
// pushed with git. Baseline in the same run: one instance started by scaling up (web=3 -> 4, no release), which is
// the start path plus the health check: what a rollout cannot go below. Measured, not asserted.
// Run: sudo npx tsx bench/rollout.ts [rollouts=5] [web=3]
// Results go to stdout; copy them into docs/benchmarks.md.
import os from "node:os";
import { loadAverage, type Platform, runningWeb, startPlatform, until } from "./lib/platform.ts";

const ROLLOUTS = Number(process.argv[2] ?? 5);
const WEB = Number(process.argv[3] ?? 3);
const APP = "rollb";

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const s = (ms: number) => (ms / 1000).toFixed(2);

async function releaseDeployed(p: Platform, version: number): Promise<void> {
  await until(`v${version} deployed`, async () => {
    const rel = await p.api.req<{ version: number; status: string; failReason?: string }[]>(
      "GET",
      `/api/v1/apps/${p.app}/releases`,
    );
    const mine = rel.body.find((x) => x.version === version);
    if (mine?.status === "failed") throw new Error(`v${version} failed: ${mine.failReason ?? ""}`);
    return mine?.status === "deployed";
  });
}

async function main(p: Platform) {
  const formation = (updates: object[]) => p.api.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates });
  await formation([{ type: "web", quantity: WEB, memoryMb: 64 }]);
  await runningWeb(p, WEB, 1);
  const drainMs = p.cp.services.scheduler.opts.drainMs;

  // Baseline: one more instance, no release (placement, pull already done, start, health check).
  const scaleUps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await formation([{ type: "web", quantity: WEB + 1 }]);
    await runningWeb(p, WEB + 1, 1);
    scaleUps.push(performance.now() - t);
    await formation([{ type: "web", quantity: WEB }]);
    await runningWeb(p, WEB, 1);
  }

  const rollouts: { version: number; deployed: number; gone: number }[] = [];
  for (let i = 1; i <= ROLLOUTS; i++) {
    const version = i + 1;
    const t = performance.now();
    const r = await p.api.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: `hello-${i}` } });
    if (r.status !== 200) throw new Error(`config change failed: ${r.status} ${JSON.stringify(r.body)}`);
    await releaseDeployed(p, version);
    const deployed = performance.now() - t;
    await runningWeb(p, WEB, version);
    rollouts.push({ version, deployed, gone: performance.now() - t });
    process.stderr.write(
      `v${version}: deployed after ${s(deployed)} s, old instances gone after ${s(performance.now() - t)} s\n`,
    );
  }

  const base = med(scaleUps);
  const gone = med(rollouts.map((r) => r.gone));
  process.stdout.write(
    `\nrollout: ${ROLLOUTS} config changes (config:set -> new release -> rollout), web=${WEB} busybox httpd (64 MB), ` +
      `one node, ${os.cpus().length} cores, drain ${drainMs} ms, load average ${loadAverage()}\n\n`,
  );
  process.stdout.write("| measure | median (s) | each (s) |\n|---|---|---|\n");
  process.stdout.write(
    `| one instance by scale-up (start + health check; baseline) | ${s(base)} | ${scaleUps.map(s).join(", ")} |\n`,
  );
  process.stdout.write(
    `| config:set -> release deployed (new instances healthy) | ${s(med(rollouts.map((r) => r.deployed)))} | ${rollouts.map((r) => s(r.deployed)).join(", ")} |\n`,
  );
  process.stdout.write(
    `| config:set -> old instances gone | ${s(gone)} | ${rollouts.map((r) => s(r.gone)).join(", ")} |\n`,
  );
  process.stdout.write(
    `\ntarget: old gone <= 10 s + the app's boot time (baseline ${s(base)} s) = ${s(10_000 + base)} s: ` +
      `${gone <= 10_000 + base ? "met" : "MISSED"} (ratio rollout / baseline ${(gone / base).toFixed(1)}x)\n`,
  );
  process.stdout.write(`load average after: ${loadAverage()}\n`);
}

const p = await startPlatform(APP);
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
