// Benchmark: the scheduler's reconcile loop at scale. A real control plane (real SQLite database file, registry
// started so desired states are sent, router replaced by a sink that only counts route sets) and N in-process agents
// on the FakeBackend (probe always healthy). A apps x Q web instances; measures how long the whole system takes to
// converge from nothing, then after one app is scaled up, after one app's new release rolls out, and after every app
// is scaled down by 10%; plus scheduler passes and pass durations. No root needed (docker-registry must be installed).
// Run: npx tsx bench/reconcile.ts [nodes] [apps] [instances-per-app]   (default 100 50... see below)
// Results go to stdout; copy them into docs/benchmarks.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { migrateDatabase } from "../server/db/migrate.ts";
import { createControlPlane, type ControlPlane } from "../server/control-plane.ts";
import { findScheduler, type Scheduler } from "../server/scheduler/scheduler.ts";
import type { AppRoute } from "../server/scheduler/routes.ts";
import { agentHubFor } from "../server/nodes/agent-hub.ts";
import { startAgent, type Agent } from "../runtime-agent/agent/agent.ts";
import { silentLogger } from "../runtime-agent/log.ts";
import { FakeBackend } from "../runtime-agent/runtime/fake-backend.ts";
import { PROTOCOL_VERSION } from "../runtime-agent/protocol/index.ts";
import { ApiClient } from "../test/helpers/client.ts";

const NODES = Number(process.argv[2] ?? 100);
const APPS = Number(process.argv[3] ?? 100);
const PER_APP = Number(process.argv[4] ?? 50);
const TICK_MS = 200;
const TARGET_MS = 5_000;

const dirs: string[] = [];
const agents: { agent: Agent; backend: FakeBackend }[] = [];
let cp: ControlPlane | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Scheduler passes timed by wrapping the (private) pass method; the bench only reads the durations. */
function timePasses(sched: Scheduler): { durations: number[] } {
  const rec = { durations: [] as number[] };
  const s = sched as unknown as { pass: () => Promise<void> };
  const original = s.pass.bind(sched);
  s.pass = async () => {
    const t = performance.now();
    inPass = true;
    try {
      await original();
    } finally {
      inPass = false;
      rec.durations.push(performance.now() - t);
    }
  };
  return rec;
}

/** BENCH_PROFILE=1: database operations by model.operation (count, total ms), and time per scheduler step. */
const PROFILE = process.env.BENCH_PROFILE === "1";
const queries = new Map<string, { n: number; ms: number; inPass: number }>();
const steps = new Map<string, { n: number; ms: number }>();
let inPass = false;

function profileDb(target: ControlPlane): void {
  const s = target.services as unknown as { db: ControlPlane["services"]["db"] };
  s.db = s.db.$extends({
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const t = performance.now();
          try {
            return await query(args);
          } finally {
            const k = `${model}.${operation}`;
            const q = queries.get(k) ?? { n: 0, ms: 0, inPass: 0 };
            q.n++;
            q.ms += performance.now() - t;
            if (inPass) q.inPass++;
            queries.set(k, q);
          }
        },
      },
    },
  }) as unknown as ControlPlane["services"]["db"];
}

function profileSteps(sched: Scheduler): void {
  const s = sched as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of ["placeOneOffs", "forgetStopped", "sendDesiredStates", "applyRoutes"]) {
    const original = (s[name] as (...args: unknown[]) => Promise<unknown>).bind(sched);
    s[name] = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await original(...args);
      } finally {
        const st = steps.get(name) ?? { n: 0, ms: 0 };
        st.n++;
        st.ms += performance.now() - t;
        steps.set(name, st);
      }
    };
  }
}

function profileSends(target: ControlPlane): void {
  const hub = agentHubFor(target.services);
  const original = hub.setDesiredState.bind(hub);
  hub.setDesiredState = async (nodeId, instances) => {
    const t = performance.now();
    try {
      return await original(nodeId, instances);
    } finally {
      const st = steps.get("  of which agentHub.setDesiredState (until the agent acks)") ?? { n: 0, ms: 0 };
      st.n++;
      st.ms += performance.now() - t;
      steps.set("  of which agentHub.setDesiredState (until the agent acks)", st);
    }
  };
}

function printProfile(): void {
  process.stdout.write("\n| step | calls | total ms |\n|---|---|---|\n");
  for (const [k, v] of steps) process.stdout.write(`| ${k} | ${v.n} | ${v.ms.toFixed(0)} |\n`);
  process.stdout.write("\n| query | count | during passes | total ms | mean ms |\n|---|---|---|---|---|\n");
  for (const [k, v] of [...queries].sort((a, b) => b[1].ms - a[1].ms)) {
    process.stdout.write(`| ${k} | ${v.n} | ${v.inPass} | ${v.ms.toFixed(0)} | ${(v.ms / v.n).toFixed(2)} |\n`);
  }
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-reconcile-"));
  dirs.push(dataDir);
  const config = loadConfig({ BERTH_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", BERTH_LOG_LEVEL: "error" });
  await migrateDatabase(config.databaseUrl);
  cp = await createControlPlane({ config, log: createLogger("error"), dashboard: false, registry: true });
  const port = await cp.listen();
  const url = `http://127.0.0.1:${port}`;
  const sched = findScheduler(cp.services) as Scheduler;
  const passes = timePasses(sched);
  if (PROFILE) {
    profileDb(cp);
    profileSteps(sched);
    profileSends(cp);
  }
  const db = cp.services.db;
  let routeSets = 0;
  let lastRoutes: AppRoute[] = [];
  sched.setRouter({
    apply: async (routes) => {
      routeSets++;
      lastRoutes = routes;
    },
  });

  const admin = new ApiClient(url);
  if ((await admin.signUp("bench@example.com")).status !== 201) throw new Error("signup failed");
  const api = await admin.tokenClient("bench");
  const joinToken = (await api.req("POST", "/api/v1/nodes/join-tokens", { name: "bench" })).body.token as string;

  // Nodes: big enough that placement never runs out (50 x 512 MB / 1 CPU each, plus a rollout's surge).
  const tJoin = performance.now();
  for (let n = 0; n < NODES; n++) {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-agent-"));
    dirs.push(stateDir);
    const backend = new FakeBackend();
    const name = `bench-n${String(n).padStart(3, "0")}`;
    const agent = await startAgent({
      controlPlane: url,
      joinToken,
      stateDir,
      backend,
      log: silentLogger(),
      tickMs: TICK_MS,
      probe: async () => true,
      register: async () => ({
        protocolVersion: PROTOCOL_VERSION,
        hostname: name,
        address: "127.0.0.1",
        cpus: 64,
        memoryBytes: 256 * 1024 ** 3,
        diskBytes: 500 * 1024 ** 3,
        kernel: "6.1.0-bench",
        cgroupVersion: 2,
        agentVersion: "0.1.0",
      }),
    });
    agents.push({ agent, backend });
  }
  await until("nodes ready", async () => (await db.node.count({ where: { state: "ready" } })) === NODES);
  const joinMs = performance.now() - tJoin;

  // Apps with a deployed-able release each (the image digests are fake; the FakeBackend accepts any image).
  const appIds: string[] = [];
  for (let a = 0; a < APPS; a++) {
    const name = `app${String(a).padStart(3, "0")}`;
    const r = await api.req("POST", "/api/v1/apps", { name });
    if (r.status !== 201) throw new Error(`app create failed: ${r.status} ${JSON.stringify(r.body)}`);
    appIds.push((await db.app.findUniqueOrThrow({ where: { name } })).id);
  }

  const agentRunning = async () => {
    let n = 0;
    for (const a of agents) n += (await a.backend.list()).filter((c) => c.status === "running").length;
    return n;
  };
  /** The whole system agrees: `total` instance rows, all wanted and running, and the agents run exactly those. */
  let lastProgress = 0;
  const converged = async (total: number, extra?: () => Promise<boolean>) => {
    if (Date.now() - lastProgress > 10_000) {
      lastProgress = Date.now();
      const states = await db.instance.groupBy({ by: ["state", "desired"], _count: true });
      const releases = await db.release.groupBy({ by: ["status"], _count: true });
      const nodes = await db.node.groupBy({ by: ["state"], _count: true });
      process.stderr.write(
        `  instances ${states.map((x) => `${x.state}/${x.desired}=${x._count}`).join(" ")}; releases ` +
          `${releases.map((x) => `${x.status}=${x._count}`).join(" ")}; nodes ${nodes.map((x) => `${x.state}=${x._count}`).join(" ")}` +
          `; passes ${passes.durations.length}\n`,
      );
    }
    const [rows, ok] = await Promise.all([
      db.instance.count(),
      db.instance.count({ where: { state: "running", desired: "running" } }),
    ]);
    if (rows !== total || ok !== total) return false;
    if (extra && !(await extra())) return false;
    return (await agentRunning()) === total;
  };

  interface Row {
    change: string;
    instances: number;
    ms: number;
    milestone?: string;
    passes: number[];
    routeSets: number;
    cpu: number;
  }
  const rows: Row[] = [];
  async function measure(
    change: string,
    total: number,
    act: () => Promise<void>,
    extra?: () => Promise<boolean>,
    milestone?: { name: string; done: () => Promise<boolean> },
  ) {
    const p0 = passes.durations.length;
    const r0 = routeSets;
    const c0 = process.cpuUsage();
    const t = performance.now();
    await act();
    let milestoneMs: number | undefined;
    await until(change, async () => {
      if (milestone && milestoneMs === undefined && (await milestone.done())) milestoneMs = performance.now() - t;
      return converged(total, extra);
    });
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(c0);
    rows.push({
      change,
      instances: total,
      ms,
      ...(milestone ? { milestone: `${milestone.name} ${((milestoneMs ?? ms) / 1000).toFixed(2)} s` } : {}),
      passes: passes.durations.slice(p0),
      routeSets: routeSets - r0,
      cpu: (cpu.user + cpu.system) / 1000 / ms,
    });
    process.stderr.write(`${change}: ${(ms / 1000).toFixed(2)} s\n`);
    // Settle before the next change: trailing passes (drain timers, late events) finish, and agents whose connection
    // was dropped during a long pass (heartbeat) have registered again.
    const settleStart = performance.now();
    await sleep(4_000);
    await until(
      "settled",
      async () => (await db.node.count({ where: { state: "ready" } })) === NODES && (await converged(total)),
    );
    await sleep(3_000);
    const settleMs = performance.now() - settleStart;
    if (settleMs > 10_000) process.stderr.write(`  settled after ${(settleMs / 1000).toFixed(1)} s\n`);
  }

  // 1. From nothing: formation web=PER_APP and a v1 release for every app at once.
  const total0 = APPS * PER_APP;
  await measure(
    `0 -> ${total0} instances (${APPS} releases + formations at once)`,
    total0,
    async () => {
      await db.formation.updateMany({ where: { type: "web" }, data: { quantity: PER_APP } });
      await db.release.createMany({
        data: appIds.map((appId, i) => ({
          appId,
          version: 1,
          imageRef: `app${i}`,
          imageDigest: digest(i + 1),
          processTypes: '{"web":""}',
        })),
      });
      sched.kick();
    },
    async () => (await db.release.count({ where: { status: "deployed" } })) === APPS,
  );

  // 2. One app scaled up by 10 through the API.
  const total1 = total0 + 10;
  await measure(`scale app000 web ${PER_APP} -> ${PER_APP + 10} (API)`, total1, async () => {
    const r = await api.req("PATCH", "/api/v1/apps/app000/formation", {
      updates: [{ type: "web", quantity: PER_APP + 10 }],
    });
    if (r.status !== 200) throw new Error(`scale failed: ${r.status}`);
  });

  // 3. A new release of one app (config change through the API): new instances start beside the old, then the old stop.
  const deployedV2 = async () =>
    (await db.release.findFirst({ where: { appId: appIds[1] as string, version: 2 } }))?.status === "deployed";
  await measure(
    `rollout of app001 v2 (config change, ${PER_APP} instances replaced)`,
    total1,
    async () => {
      const r = await api.req("PATCH", "/api/v1/apps/app001/config", { set: { BENCH: "2" } });
      if (r.status !== 200) throw new Error(`config change failed: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async () =>
      (await deployedV2()) &&
      (await db.instance.count({ where: { appId: appIds[1] as string, release: { version: 1 } } })) === 0,
    { name: "v2 deployed after", done: deployedV2 },
  );

  // 4. Every app scaled down by 10% at once (one formation write, then one kick, like a bulk API change).
  const down = (q: number) => Math.floor(q * 0.9);
  const total2 = down(PER_APP + 10) + (APPS - 1) * down(PER_APP);
  await measure(`all ${APPS} apps scaled down 10% (${total1} -> ${total2})`, total2, async () => {
    await db.formation.update({
      where: { appId_type: { appId: appIds[0] as string, type: "web" } },
      data: { quantity: down(PER_APP + 10) },
    });
    await db.formation.updateMany({
      where: { type: "web", appId: { not: appIds[0] as string } },
      data: { quantity: down(PER_APP) },
    });
    sched.kick();
  });

  // 5. Steady state: passes that find nothing to do, at total2 instances.
  const idle: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = passes.durations.length;
    sched.kick();
    await until("idle pass", async () => passes.durations.length > before, 30_000);
    idle.push(passes.durations.at(-1) as number);
  }
  const upstreams = lastRoutes.reduce((n, r) => n + r.upstreams.length, 0);

  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  process.stdout.write(
    `\nreconcile: ${NODES} fake nodes (in-process agents, tick ${TICK_MS} ms), ${APPS} apps x ${PER_APP} web, ` +
      `${os.cpus().length} cores, load average ${load}; ${NODES} agents joined in ${(joinMs / 1000).toFixed(1)} s\n\n`,
  );
  process.stdout.write(
    "| change | instances after | converged (s) | target | passes | pass p50 (ms) | pass max (ms) | route sets | CPU of the process |\n",
  );
  process.stdout.write("|---|---|---|---|---|---|---|---|---|\n");
  for (const r of rows) {
    const s = r.ms / 1000;
    process.stdout.write(
      `| ${r.change}${r.milestone ? ` (${r.milestone})` : ""} | ${r.instances} | ${s.toFixed(2)} | ` +
        `${rows.indexOf(r) === 0 ? "-" : `< 5 s: ${r.ms < TARGET_MS ? "met" : "MISSED"}`} | ${r.passes.length} | ` +
        `${pct(r.passes, 0.5).toFixed(0)} | ${Math.max(...r.passes).toFixed(0)} | ${r.routeSets} | ${(r.cpu * 100).toFixed(0)}% |\n`,
    );
  }
  process.stdout.write(
    `\nidle pass at ${total2} instances (nothing to change), 20 passes: p50 ${pct(idle, 0.5).toFixed(0)} ms, ` +
      `max ${Math.max(...idle).toFixed(0)} ms; last route set has ${upstreams} upstreams\n`,
  );
  if (PROFILE) printProfile();
}

async function cleanup() {
  // Stop the scheduler first: otherwise every agent that leaves triggers passes over thousands of instances.
  if (cp) findScheduler(cp.services)?.stop();
  for (const a of agents) await a.agent.stop().catch(() => undefined);
  await cp?.close().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    process.stderr.write(`${sig}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(cleanup)
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await cleanup();
    process.exitCode = 1;
  });
