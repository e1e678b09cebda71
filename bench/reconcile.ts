// Benchmark: the scheduler's reconcile loop at scale. This process runs a real control plane (SQLite database file,
// registry started so desired states are sent, the router replaced by a sink that keeps the last route set);
// N fake nodes run in W child processes (bench/lib/fake-agents-worker.ts), each a real agent on the FakeBackend with
// a small simulated start/stop latency and an always-healthy probe, so this process's event loop, CPU and profile
// are the control plane's alone (plus this script's convergence checks). A apps x Q web instances; measures how long
// the whole system takes to converge from nothing and after each change (see CHANGES below).
// Run: npx tsx bench/reconcile.ts [nodes=100] [apps=100] [web-per-app=50]
//   BENCH_WORKERS=4 agent processes, BENCH_TICK_MS=1000 agent tick, BENCH_LATENCY=create,start,stop,delete ms
//   (default 100,50,50,20), BENCH_ROLLOUT_APPS=100 apps in the many-apps rollout, BENCH_PROFILE=1 per-query and
//   per-step timings and SQL statements, BENCH_LOG_LEVEL=warn control-plane log on stderr. Profile the control plane: node --cpu-prof --cpu-prof-dir=DIR --import tsx bench/reconcile.ts
//   then npx tsx bench/lib/cpuprofile-top.ts DIR/*.cpuprofile
// Results go to stdout; copy them into docs/benchmarks.md.
import { fork, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { migrateDatabase } from "../server/db/migrate.ts";
import { createControlPlane, type ControlPlane } from "../server/control-plane.ts";
import type { Scheduler } from "../server/scheduler/scheduler.ts";
import type { AppRoute } from "../server/scheduler/routes.ts";
import { createLocalJoinToken } from "../server/nodes/join-tokens.ts";
import { ApiClient } from "../test/helpers/client.ts";
import type { ParentMessage, WorkerMessage } from "./lib/fake-agents-worker.ts";
import { profileSql, sqlReport } from "./lib/sql-profile.ts";

const NODES = Number(process.argv[2] ?? 100);
const APPS = Number(process.argv[3] ?? 100);
const PER_APP = Number(process.argv[4] ?? 50);
const WORKERS = Math.max(1, Math.min(NODES, Number(process.env.BENCH_WORKERS ?? 4)));
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 1000);
const [CREATE_MS, START_MS, STOP_MS, DELETE_MS] = (process.env.BENCH_LATENCY ?? "100,50,50,20").split(",").map(Number);
const ROLLOUT_APPS = Math.min(APPS, Number(process.env.BENCH_ROLLOUT_APPS ?? APPS));
const SETUP_STEP = Number(process.env.BENCH_SETUP_STEP ?? 10);
const TARGET_MS = 5_000;
/** A change that has not converged after this long is reported as missed, and the run goes on. */
const CHANGE_TIMEOUT_MS = 120_000;
const POLL_MS = 20;
const WORKER_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "lib", "fake-agents-worker.ts");

let rootDir: string | undefined;
const workers: Worker[] = [];
let cp: ControlPlane | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const nodeName = (n: number) => `bench-n${String(n).padStart(3, "0")}`;
const nodeAddress = (n: number) => `127.1.${n >> 8}.${(n & 255) + 1}`;

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
    await sleep(POLL_MS);
  }
}

/** One agent process: the nodes it hosts and the last running set it reported. */
class Worker {
  readonly child: ChildProcess;
  count = 0;
  hash = "";
  cpuMs = 0;
  lagMaxMs = 0;
  private inspected: ((info: unknown) => void) | undefined;
  private readonly waiters = new Map<string, () => void>();
  exited = false;

  constructor(readonly nodes: { name: string; address: string }[]) {
    this.child = fork(WORKER_FILE, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: WorkerMessage) => {
      if (m.type === "running") {
        this.count = m.count;
        this.hash = m.hash;
      } else if (m.type === "load") {
        this.cpuMs = m.cpuMs;
        this.lagMaxMs = Math.max(this.lagMaxMs, m.lagMaxMs);
      } else if (m.type === "inspect") {
        this.inspected?.(m.info);
      } else if (m.type === "error") {
        process.stderr.write(`agent worker: ${m.message}\n`);
      }
      this.waiters.get(m.type)?.();
    });
    this.child.on("exit", () => {
      this.exited = true;
      for (const w of this.waiters.values()) w();
    });
  }

  /** Resolves at the next message of this type (or when the process exits). */
  next(type: WorkerMessage["type"]): Promise<void> {
    return new Promise((resolve) => this.waiters.set(type, resolve));
  }

  send(m: ParentMessage): void {
    this.child.send(m);
  }

  /** What the agent of `node` (hosted here) wants and runs of `ids`. */
  inspect(node: string, ids: string[]): Promise<unknown> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve("no answer in 10 s"), 10_000);
      this.inspected = (info) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.send({ type: "inspect", node, ids });
    });
  }

  /** Stops the agents, then waits for the process to exit (killed after 10 s). */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.child.once("exit", () => r()));
    if (this.child.connected) this.child.send({ type: "stop" });
    else this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
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
  const hub = target.services.agents;
  const original = hub.setDesiredState.bind(hub);
  const key = "  of which agentHub.setDesiredState (until the agent acks)";
  hub.setDesiredState = async (nodeId, instances) => {
    const t = performance.now();
    try {
      return await original(nodeId, instances);
    } finally {
      const st = steps.get(key) ?? { n: 0, ms: 0 };
      st.n++;
      st.ms += performance.now() - t;
      steps.set(key, st);
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

/** Event-loop delay of this process while a change converges (setInterval drift, 10 ms interval). */
function loopLag(): { stop: () => { p99: number; max: number } } {
  const lags: number[] = [];
  let last = performance.now();
  const t = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - 10));
    last = now;
  }, 10);
  return {
    stop: () => {
      clearInterval(t);
      return { p99: pct(lags, 0.99), max: Math.max(0, ...lags) };
    },
  };
}

async function main() {
  if (PROFILE) profileSql();
  rootDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-reconcile-"));
  const dataDir = path.join(rootDir, "data");
  fs.mkdirSync(dataDir);
  const config = loadConfig({ BERTH_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", BERTH_LOG_LEVEL: "error" });
  await migrateDatabase(config.databaseUrl);
  // BENCH_LOG_LEVEL=warn shows the control plane's warnings (on stderr, beside the progress lines).
  const log = createLogger(process.env.BENCH_LOG_LEVEL ?? "error", process.stderr);
  cp = await createControlPlane({ config, log, dashboard: false, registry: true });
  const port = await cp.listen();
  const url = `http://127.0.0.1:${port}`;
  const sched = cp.services.scheduler;
  const passes = timePasses(sched);
  if (PROFILE) {
    profileDb(cp);
    profileSteps(sched);
    profileSends(cp);
  }
  const db = () => (cp as ControlPlane).services.db;
  let routeSets = 0;
  let lastRoutes: AppRoute[] = [];
  let lastRoutesAt = 0;
  sched.setRouter({
    apply: async (routes) => {
      routeSets++;
      lastRoutes = routes;
      lastRoutesAt = performance.now();
    },
  });

  const admin = new ApiClient(url);
  if ((await admin.signUp("bench@example.com")).status !== 201) throw new Error("signup failed");
  const api = await admin.tokenClient("bench");
  // The fake nodes connect from 127.0.0.1: a local-agent token, the only kind the control plane routes on loopback.
  const joinToken = (await createLocalJoinToken(db(), { name: "bench" })).token;

  // Nodes, dealt round-robin to the agent processes. Big enough that placement never runs out (64 CPUs, 256 GB).
  const tJoin = performance.now();
  const shares: { name: string; address: string }[][] = Array.from({ length: WORKERS }, () => []);
  for (let n = 0; n < NODES; n++) shares[n % WORKERS]?.push({ name: nodeName(n), address: nodeAddress(n) });
  const workerOf = new Map<string, number>();
  shares.forEach((nodes, w) => nodes.forEach((x) => workerOf.set(x.name, w)));
  for (const nodes of shares) {
    const w = new Worker(nodes);
    workers.push(w);
    const dir = path.join(rootDir, `agents-${workers.length}`);
    const ready = w.next("ready");
    w.send({
      type: "start",
      controlPlane: url,
      joinToken,
      nodes,
      dir,
      tickMs: TICK_MS,
      latency: { create: CREATE_MS ?? 0, start: START_MS ?? 0, stop: STOP_MS ?? 0, delete: DELETE_MS ?? 0 },
    });
    await ready;
    if (w.exited) throw new Error("an agent process exited during start");
  }
  await until("nodes ready", async () => (await db().node.count({ where: { state: "ready" } })) === NODES);
  const joinMs = performance.now() - tJoin;

  // Apps (the image digests are fake; the FakeBackend accepts any image).
  const appIds: string[] = [];
  for (let a = 0; a < APPS; a++) {
    const name = `app${String(a).padStart(3, "0")}`;
    const r = await api.req("POST", "/api/v1/apps", { name });
    if (r.status !== 201) throw new Error(`app create failed: ${r.status} ${JSON.stringify(r.body)}`);
    appIds.push((await db().app.findUniqueOrThrow({ where: { name } })).id);
  }

  /**
   * Converged, checked in this order (cheap in-memory checks first, so the database is read only when they pass):
   * 1. agents: the agent processes together run exactly `total` containers, and each process's set of running
   *    `node/instance` pairs equals the database's;
   * 2. routes: the last route set the scheduler applied has, for every app, exactly the `address:hostPort` of its
   *    instances in the database;
   * 3. database: exactly `total` instance rows, every one wanted `running` and reported `running` (no row left
   *    stopping, replacing or pending), plus `extra` (e.g. the new releases deployed).
   */
  let lastProgress = 0;
  const converged = async (total: number, extra?: () => Promise<boolean>): Promise<boolean> => {
    if (Date.now() - lastProgress > 10_000) {
      lastProgress = Date.now();
      const states = await db().instance.groupBy({ by: ["state", "desired"], _count: true });
      const releases = await db().release.groupBy({ by: ["status"], _count: true });
      const nodes = await db().node.groupBy({ by: ["state"], _count: true });
      process.stderr.write(
        `  instances ${states.map((x) => `${x.state}/${x.desired}=${x._count}`).join(" ")}; releases ` +
          `${releases.map((x) => `${x.status}=${x._count}`).join(" ")}; nodes ${nodes.map((x) => `${x.state}=${x._count}`).join(" ")}` +
          `; agents run ${workers.reduce((n, w) => n + w.count, 0)}; passes ${passes.durations.length}\n`,
      );
    }
    if (workers.reduce((n, w) => n + w.count, 0) !== total) return false;
    if (lastRoutes.reduce((n, r) => n + r.upstreams.length, 0) !== total) return false;
    const rows = await db().instance.findMany({
      select: {
        id: true,
        appId: true,
        desired: true,
        state: true,
        hostPort: true,
        node: { select: { name: true, address: true } },
      },
    });
    if (rows.length !== total || rows.some((r) => r.desired !== "running" || r.state !== "running" || !r.node)) {
      return false;
    }
    const lines: string[][] = workers.map(() => []);
    const upstreams = new Map<string, string[]>();
    for (const r of rows) {
      const node = r.node as { name: string; address: string };
      lines[workerOf.get(node.name) ?? -1]?.push(`${node.name}/${r.id}`);
      const list = upstreams.get(r.appId) ?? [];
      list.push(`${node.address}:${r.hostPort}`);
      upstreams.set(r.appId, list);
    }
    for (const [w, l] of lines.entries()) {
      const hash = crypto.createHash("sha1").update(l.sort().join("\n")).digest("hex");
      if (workers[w]?.hash !== hash) return false;
    }
    const nameOf = new Map(appIds.map((id, i) => [`app${String(i).padStart(3, "0")}`, id]));
    for (const route of lastRoutes) {
      const want = (upstreams.get(nameOf.get(route.app) ?? "") ?? []).sort();
      if (JSON.stringify(want) !== JSON.stringify(route.upstreams)) return false;
    }
    return !extra || (await extra());
  };

  interface Row {
    change: string;
    instances: number;
    ms: number;
    milestone?: string;
    passes: number[];
    routeSets: number;
    cpu: number;
    lag: { p99: number; max: number };
    /** Agent processes: CPU (cores) and their largest event-loop delay. */
    agentCpu: number;
    agentLag: number;
  }
  const rows: Row[] = [];
  const allDeployed = (version: number, count: number) => async () =>
    (await db().release.count({ where: { status: "deployed", version } })) === count;
  /** A change takes long: what the database, the control plane and the agents say about a few stuck instances. */
  async function diagnose() {
    // Instances wanted and not running first (a start that does not finish), then any other not in place.
    const select = {
      id: true,
      state: true,
      desired: true,
      createdAt: true,
      updatedAt: true,
      node: { select: { id: true, name: true } },
    } as const;
    const starting = await db().instance.findMany({
      where: { desired: "running", state: { not: "running" } },
      select,
      orderBy: { createdAt: "asc" },
      take: 2,
    });
    const other = await db().instance.findMany({
      where: { OR: [{ state: { not: "running" } }, { desired: { not: "running" } }] },
      select,
      orderBy: { createdAt: "asc" },
      take: 1,
    });
    const stuck = [...starting, ...other];
    const releases = await db().release.findMany({
      where: { status: { in: ["pending", "deploying"] } },
      select: { version: true, status: true, createdAt: true, app: { select: { name: true } } },
    });
    process.stderr.write(`  releases rolling out: ${JSON.stringify(releases)}\n`);
    const hub = (cp as ControlPlane).services.agents as unknown as {
      desired: Map<string, { generation: number; instances: { id: string }[] }>;
    };
    for (const i of stuck) {
      const sent = i.node ? hub.desired.get(i.node.id) : undefined;
      const w = i.node ? workers[workerOf.get(i.node.name) ?? -1] : undefined;
      const agent = i.node && w ? await w.inspect(i.node.name, [i.id]) : undefined;
      process.stderr.write(
        `  stuck: ${JSON.stringify({ ...i, ageS: (Date.now() - i.createdAt.getTime()) / 1000, sentGeneration: sent?.generation, inSent: sent?.instances.some((x) => x.id === i.id), agent })}\n`,
      );
    }
  }

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
    const w0 = workers.reduce((n, w) => n + w.cpuMs, 0);
    for (const w of workers) w.lagMaxMs = 0;
    const lag = loopLag();
    let diagnosed = 0;
    const t = performance.now();
    await act();
    let milestoneMs: number | undefined;
    let convergedAt = Infinity;
    try {
      await until(
        change,
        async () => {
          const at = performance.now();
          if (milestone && milestoneMs === undefined && (await milestone.done())) milestoneMs = performance.now() - t;
          if (!(await converged(total, extra))) {
            if (performance.now() - t > 30_000 * (diagnosed + 1) && diagnosed < 3) {
              diagnosed++;
              process.stderr.write(`  not converged after ${((performance.now() - t) / 1000).toFixed(0)} s:\n`);
              await diagnose();
            }
            return false;
          }
          convergedAt = at;
          return true;
        },
        CHANGE_TIMEOUT_MS,
      );
    } catch (err) {
      process.stderr.write(`  ${err instanceof Error ? err.message : String(err)}\n`);
    }
    const ms = convergedAt - t;
    const cpu = process.cpuUsage(c0);
    rows.push({
      change,
      instances: total,
      ms,
      ...(milestone
        ? { milestone: `${milestone.name} ${milestoneMs === undefined ? "-" : (milestoneMs / 1000).toFixed(2)} s` }
        : {}),
      passes: passes.durations.slice(p0),
      routeSets: routeSets - r0,
      cpu: (cpu.user + cpu.system) / 1000 / (performance.now() - t),
      lag: lag.stop(),
      agentCpu: (workers.reduce((n, w) => n + w.cpuMs, 0) - w0) / (performance.now() - t),
      agentLag: Math.max(...workers.map((w) => w.lagMaxMs)),
    });
    process.stderr.write(
      `${change}: ${(ms / 1000).toFixed(2)} s (last route set ${((lastRoutesAt - t) / 1000).toFixed(2)} s)\n`,
    );
    await settle(total);
  }

  /** Before the next change: trailing passes (drain timers, late events) finish and every node is ready. */
  async function settle(total: number) {
    const settleStart = performance.now();
    await sleep(4_000);
    await until(
      "settled",
      async () => (await db().node.count({ where: { state: "ready" } })) === NODES && (await converged(total)),
    );
    await sleep(2_000);
    const settleMs = performance.now() - settleStart;
    if (settleMs > 10_000) process.stderr.write(`  settled after ${(settleMs / 1000).toFixed(1)} s\n`);
  }

  // 1. Setup (not a measured change): formation web=PER_APP and a v1 release for SETUP_STEP apps at a time, each
  // step converged before the next (all at once is the all-apps rollout below, from a running system).
  const total0 = APPS * PER_APP;
  const tSetup = performance.now();
  await db().formation.updateMany({ where: { type: "web" }, data: { quantity: PER_APP } });
  for (let k = 0; k < APPS; k += SETUP_STEP) {
    const step = appIds.slice(k, k + SETUP_STEP);
    await db().release.createMany({
      data: step.map((appId, j) => ({
        appId,
        version: 1,
        imageRef: `app${k + j}`,
        imageDigest: digest(k + j + 1),
        processTypes: '{"web":""}',
      })),
    });
    sched.kick();
    const count = (k + step.length) * PER_APP;
    await until(`setup: ${count} instances`, () => converged(count, allDeployed(1, k + step.length)));
    process.stderr.write(`setup: ${count} instances after ${((performance.now() - tSetup) / 1000).toFixed(1)} s\n`);
  }
  const setupMs = performance.now() - tSetup;
  await settle(total0);

  const idle: number[] = [];
  try {
    // 2a. One app scaled up by 10 through the API.
    const total1 = total0 + 10;
    await measure(`scale up app000 web ${PER_APP} -> ${PER_APP + 10} (API)`, total1, async () => {
      const r = await api.req("PATCH", "/api/v1/apps/app000/formation", {
        updates: [{ type: "web", quantity: PER_APP + 10 }],
      });
      if (r.status !== 200) throw new Error(`scale failed: ${r.status}`);
    });

    // 2b. Every app scaled up by 10% at once (one formation write, then one kick, like a bulk API change).
    const up = (q: number) => Math.round(q * 1.1);
    const total2 = up(PER_APP + 10) + (APPS - 1) * up(PER_APP);
    await measure(`scale up all ${APPS} apps 10% (${total1} -> ${total2})`, total2, async () => {
      await db().formation.update({
        where: { appId_type: { appId: appIds[0] as string, type: "web" } },
        data: { quantity: up(PER_APP + 10) },
      });
      await db().formation.updateMany({
        where: { type: "web", appId: { not: appIds[0] as string } },
        data: { quantity: up(PER_APP) },
      });
      sched.kick();
    });

    // 3a. A new release of one app (config change through the API): new instances start beside the old, then the old
    // leave the router, drain 3 s and stop.
    const v2Of = (a: number) => async () =>
      (await db().release.findFirst({ where: { appId: appIds[a] as string, version: 2 } }))?.status === "deployed";
    await measure(
      `rollout of app001 v2 (config change, API; ${up(PER_APP)} instances replaced)`,
      total2,
      async () => {
        const r = await api.req("PATCH", "/api/v1/apps/app001/config", { set: { BENCH: "2" } });
        if (r.status !== 200) throw new Error(`config change failed: ${r.status} ${JSON.stringify(r.body)}`);
      },
      async () =>
        (await v2Of(1)()) &&
        (await db().instance.count({ where: { appId: appIds[1] as string, release: { version: 1 } } })) === 0,
      { name: "v2 deployed after", done: v2Of(1) },
    );

    // 3b. A new release of every app (of the first BENCH_ROLLOUT_APPS) at once, written in one statement like the
    // setup (as if that many pushes landed together): every instance of those apps is replaced. Not through the API:
    // 100 concurrent config-change requests take their own ~100 s to return under this load (each holds an
    // interactive transaction, i.e. the database, across event-loop turns), which would measure the API, not the loop.
    const rolled = appIds.slice(0, ROLLOUT_APPS);
    const rolledInstances = rolled.reduce((n, _, i) => n + (i === 0 ? up(PER_APP + 10) : up(PER_APP)), 0);
    /** Every app's newest release is the deployed one. */
    const newestDeployed = async () =>
      (
        await db().app.findMany({
          select: { releases: { orderBy: { version: "desc" }, take: 1, select: { status: true } } },
        })
      ).every((a) => a.releases[0]?.status === "deployed");
    await measure(
      `rollout of ${rolled.length} apps at once (new releases in one write; ${rolledInstances} instances replaced)`,
      total2,
      async () => {
        const latest = await db().release.findMany({
          where: { appId: { in: rolled }, status: "deployed" },
          select: { appId: true, version: true, imageRef: true, imageDigest: true, processTypes: true },
        });
        await db().release.createMany({
          data: latest.map((r) => ({ ...r, version: r.version + 1, config: '{"BENCH":"3"}' })),
        });
        sched.kick();
      },
      async () =>
        (await newestDeployed()) &&
        (await db().instance.count({ where: { release: { status: { not: "deployed" } } } })) === 0,
      { name: "all deployed after", done: newestDeployed },
    );

    // 4. Every app scaled down by 10% at once.
    const down = (q: number) => Math.floor(q * 0.9);
    const total3 = down(up(PER_APP + 10)) + (APPS - 1) * down(up(PER_APP));
    await measure(`scale down all ${APPS} apps 10% (${total2} -> ${total3})`, total3, async () => {
      await db().formation.update({
        where: { appId_type: { appId: appIds[0] as string, type: "web" } },
        data: { quantity: down(up(PER_APP + 10)) },
      });
      await db().formation.updateMany({
        where: { type: "web", appId: { not: appIds[0] as string } },
        data: { quantity: down(up(PER_APP)) },
      });
      sched.kick();
    });

    // 5. Steady state: passes that find nothing to do.
    for (let i = 0; i < 20; i++) {
      const before = passes.durations.length;
      sched.kick();
      await until("idle pass", async () => passes.durations.length > before, 30_000);
      idle.push(passes.durations.at(-1) as number);
    }
  } finally {
    const upstreams = lastRoutes.reduce((n, r) => n + r.upstreams.length, 0);
    const load = os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ");
    process.stdout.write(
      `\nreconcile: ${NODES} fake nodes in ${WORKERS} agent processes (tick ${TICK_MS} ms, backend latency create ` +
        `${CREATE_MS} / start ${START_MS} / stop ${STOP_MS} / delete ${DELETE_MS} ms), ${APPS} apps x ${PER_APP} web, ` +
        `${os.cpus().length} cores, load average ${load}; ${NODES} agents joined in ${(joinMs / 1000).toFixed(1)} s; setup ` +
        `(${SETUP_STEP} apps at a time) ${(setupMs / 1000).toFixed(1)} s\n\n`,
    );
    process.stdout.write(
      "| change | instances after | converged (s) | target | passes | pass p50 (ms) | pass max (ms) | route sets | " +
        "CPU of the control plane | event-loop lag p99 / max (ms) | CPU of the agents | agents' lag max (ms) |\n",
    );
    process.stdout.write("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const r of rows) {
      const s = r.ms / 1000;
      process.stdout.write(
        `| ${r.change}${r.milestone ? ` (${r.milestone})` : ""} | ${r.instances} | ${Number.isFinite(s) ? s.toFixed(2) : `> ${CHANGE_TIMEOUT_MS / 1000}`} | ` +
          `< 5 s: ${r.ms < TARGET_MS ? "met" : "MISSED"} | ${r.passes.length} | ` +
          `${pct(r.passes, 0.5).toFixed(0)} | ${Math.max(0, ...r.passes).toFixed(0)} | ${r.routeSets} | ` +
          `${(r.cpu * 100).toFixed(0)}% | ${r.lag.p99.toFixed(0)} / ${r.lag.max.toFixed(0)} | ${(r.agentCpu * 100).toFixed(0)}% | ${r.agentLag.toFixed(0)} |\n`,
      );
    }
    process.stdout.write(
      `\nidle pass at ${workers.reduce((n, w) => n + w.count, 0)} instances (nothing to change), 20 passes: p50 ${pct(idle, 0.5).toFixed(0)} ms, ` +
        `max ${Math.max(0, ...idle).toFixed(0)} ms; last route set has ${upstreams} upstreams\n`,
    );
    process.stdout.write(
      `RESULT ${JSON.stringify({ rows: rows.map((r) => ({ change: r.change, s: +(r.ms / 1000).toFixed(2), milestone: r.milestone, passes: r.passes.length, passMax: Math.round(Math.max(0, ...r.passes)), cpu: Math.round(r.cpu * 100), agentCpu: Math.round(r.agentCpu * 100), lagMax: Math.round(r.lag.max), agentLag: Math.round(r.agentLag) })), idleP50: Math.round(pct(idle, 0.5)) })}\n`,
    );
    if (PROFILE) {
      printProfile();
      process.stdout.write(sqlReport());
    }
  }
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Stop the scheduler first: otherwise every agent that leaves triggers passes over thousands of instances.
    if (cp) cp.services.scheduler.stop();
    await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    await cp?.close().catch(() => undefined);
    if (rootDir) fs.rmSync(rootDir, { recursive: true, force: true });
  })();
  return cleaning;
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
