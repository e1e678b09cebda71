// Benchmark (issue 19, agent CPU at rest): N idle instances through the OciBackend, then the agent's periodic work at
// rest for D seconds per variant: a reconciler-style `list()` of every instance each tick (250 ms, as bench/density.ts
// runs the agent) and a stats pass every 5 s (list + `stats()` of each running instance, as stats-collector.ts does).
// Variants, measured in the same run, one after the other:
//   files:  list() reading every instance's record, runc state file, /proc stat, exit file and OOM marker each pass
//           (what the backend did before the list cache; reproduced with containerInfo() per instance)
//   now:    backend.list(): running instances from the list cache (list-cache.ts) between conmon exit-file events
//   + logs: "now" plus a LogShipper tailing every instance's log (150 ms polls), as the agent runs it
// CPU is this process's user+system time plus that of its reaped children (runc), from /proc/self/stat, over the
// window, as % of one core. Run: sudo npx tsx bench/agent-rest.ts [instances=100] [seconds=30] [tick-ms=250]
import fs from "node:fs/promises";
import os from "node:os";
import { silentLogger } from "../runtime-agent/log.ts";
import { LogShipper } from "../runtime-agent/agent/log-shipper.ts";
import { containerInfo } from "../runtime-agent/runtime/container-state.ts";
import { createRootEnv, type RootEnv } from "../runtime-agent/test-support/root-env.ts";

const N = Number(process.argv[2] ?? 100);
const SECONDS = Number(process.argv[3] ?? 30);
const TICK_MS = Number(process.argv[4] ?? 250);
const STATS_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** utime + stime + cutime + cstime of this process, in clock ticks (100 per second). */
async function cpuTicks(): Promise<{ self: number; children: number }> {
  const stat = await fs.readFile("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { self: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

let env: RootEnv | undefined;

async function main() {
  env = await createRootEnv();
  const { backend } = env;
  const ids = Array.from({ length: N }, (_, i) => `idle-${i}`);
  const t0 = Date.now();
  for (let i = 0; i < ids.length; i += 5) {
    await Promise.all(
      ids.slice(i, i + 5).map(async (id) => {
        await backend.create(
          env!.container(id, {
            command: ["/bin/sleep", "1000000"],
            limits: { memoryBytes: 32 * 1024 * 1024, cpuMillis: 100, pids: 16 },
          }),
        );
        await backend.start(id);
      }),
    );
  }
  process.stdout.write(
    `tick ${TICK_MS} ms; ${N} instances started in ${((Date.now() - t0) / 1000).toFixed(1)} s (load ${load()})\n\n`,
  );
  const filesList = async () =>
    Promise.all(
      (await backend.store.ids()).map(async (id) =>
        containerInfo(backend.store, backend.runc, id, (await backend.runc.stateFromFiles(id)) ?? undefined),
      ),
    );
  const nowStats = async () => {
    for (const c of await backend.list()) if (c.status === "running") await backend.stats(c.id);
  };
  let shipper: LogShipper | undefined;
  const variants: Record<
    string,
    { list: () => Promise<unknown>; stats: () => Promise<unknown>; setup?: () => Promise<void> }
  > = {
    files: {
      list: filesList,
      stats: async () => {
        for (const c of await filesList()) if (c?.status === "running") await backend.stats(c.id);
      },
    },
    now: { list: () => backend.list(), stats: nowStats },
    "now + logs": {
      list: () => backend.list(),
      stats: nowStats,
      setup: async () => {
        shipper = new LogShipper({
          stateDir: env!.tmp,
          send: () => undefined,
          canSend: () => true,
          log: silentLogger(),
        });
        await shipper.start(await backend.list());
      },
    },
  };
  process.stdout.write(
    `| variant | agent process CPU (% of a core) | runc children CPU (%) | total (%) | passes | load average |\n|---|---|---|---|---|---|\n`,
  );
  for (const [name, v] of Object.entries(variants)) {
    await v.setup?.();
    await sleep(2_000);
    const start = await cpuTicks();
    const t = Date.now();
    let passes = 0;
    let nextStats = t;
    while (Date.now() - t < SECONDS * 1000) {
      const pass = Date.now();
      await v.list();
      if (pass >= nextStats) {
        await v.stats();
        nextStats += STATS_MS;
      }
      passes++;
      await sleep(Math.max(0, TICK_MS - (Date.now() - pass)));
    }
    const end = await cpuTicks();
    const secs = (Date.now() - t) / 1000;
    const pct = (ticks: number) => ((ticks / 100 / secs) * 100).toFixed(1);
    process.stdout.write(
      `| ${name} | ${pct(end.self - start.self)} | ${pct(end.children - start.children)} | ${pct(end.self - start.self + end.children - start.children)} | ${passes} | ${load()} |\n`,
    );
  }
  // Where "now" spends it: CPU of one list() pass and of one stats pass, back to back.
  const cpuOf = async (runs: number, fn: () => Promise<unknown>) => {
    const a = await cpuTicks();
    const t = process.cpuUsage();
    for (let i = 0; i < runs; i++) await fn();
    const u = process.cpuUsage(t);
    const b = await cpuTicks();
    return { ms: (u.user + u.system) / 1000 / runs, children: ((b.children - a.children) * 10) / runs };
  };
  await shipper?.stop();
  const l = await cpuOf(20, () => backend.list());
  const st = await cpuOf(5, nowStats);
  process.stdout.write(
    `\nnow, per pass with ${N} instances: list() ${l.ms.toFixed(1)} ms CPU (children ${l.children.toFixed(1)} ms), ` +
      `stats pass ${st.ms.toFixed(1)} ms CPU (children ${st.children.toFixed(1)} ms)\n`,
  );
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    const problems = (await env?.destroy()) ?? [];
    if (problems.length) process.stderr.write(`cleanup problems: ${problems.join("; ")}\n`);
  });
