// Benchmark (issue 15, add-ons): in one run on this machine
// 1. the first add-on of a fresh data dir, split: loading the postgres stack from BERTH_STACK_CACHE_DIR into the
//    builder's store, and its first push into the platform registry (what made a fresh data dir's first create slow);
// 2. provisioning time, `berth addons:create postgres -a APP` until DATABASE_URL is set on the app, image cached,
//    several samples (each add-on destroyed before the next; the last one is kept for 3.);
// 3. pgbench TPS against the Berth-provisioned PostgreSQL next to the same Debian PostgreSQL 15 run directly on the host
//    (initdb + pg_ctl in a temp dir on the same disk, a random loopback port, the add-on's settings: shared_buffers,
//    max_connections, fsync and synchronous_commit at their defaults (on) like the add-on, scram-sha-256, and the
//    plan's CPU quota and memory limit as a cgroup, like the agent gives the add-on), alternating, several rounds.
// The load average is printed next to every figure (the machine is shared). Everything made is removed at the end.
// Run: sudo npx tsx bench/addons.ts [rounds=3] [seconds=20] [samples=3]
import { type ChildProcess, execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { migrateDatabase } from "../server/db/migrate.ts";
import { createControlPlane } from "../server/control-plane.ts";
import { createLocalJoinToken } from "../server/nodes/join-tokens.ts";
import { builderDirOf, stackStorage } from "../server/builds/builder-stores.ts";
import { pushImage } from "../server/builds/buildah.ts";
import { ensureStack } from "../server/builds/stacks/index.ts";
import { serviceAddress } from "../server/addons/provision.ts";
import { CREDENTIAL_VARS, POSTGRES_PLANS } from "../server/addons/catalog.ts";
import { createRootEnv } from "../runtime-agent/test-support/root-env.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../runtime-agent/test-support/agent-process.ts";
import { OciBackend } from "../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../runtime-agent/agent/config.ts";
import { silentLogger } from "../runtime-agent/log.ts";
import { ApiClient } from "../test/helpers/client.ts";
import { runBerth } from "../test/helpers/cli.ts";
import { cleanupBuilder } from "../test/helpers/builder-cleanup.ts";
import { SHARED_STACK_CACHE } from "../test/helpers/stack-cache.ts";

const ROUNDS = Number(process.argv[2] ?? 3);
const SECONDS = Number(process.argv[3] ?? 20);
const SAMPLES = Number(process.argv[4] ?? 3);
const PG_BIN = "/usr/lib/postgresql/15/bin";
const PLAN = POSTGRES_PLANS.small as { memoryMb: number; cpu: number; maxConnections: number };
const SHARED_BUFFERS = `${Math.max(16, Math.floor(PLAN.memoryMb / 4))}MB`; // as postgresCommand (catalog.ts)
const PGBENCH = ["-c", "4", "-j", "2", "-T", String(SECONDS), "-n"];
const exec = promisify(execFile);
const note = (s: string) => process.stderr.write(`${s}\n`);
const out = (s: string) => process.stdout.write(`${s}\n`);
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Runs a PostgreSQL client tool against `t`; the password goes through the environment, never argv. */
async function pgTool(tool: string, args: string[], t: PgTarget, options = ""): Promise<string> {
  const env = { ...process.env, PGHOST: t.host, PGPORT: String(t.port), PGUSER: t.user, PGOPTIONS: options };
  const r = await exec(tool, args, {
    env: { ...env, PGPASSWORD: t.password, PGDATABASE: t.database, PGCONNECT_TIMEOUT: "10" },
    maxBuffer: 16 * 1024 * 1024,
  });
  return `${r.stdout}${r.stderr}`;
}

async function tps(t: PgTarget): Promise<number> {
  const text = await pgTool("pgbench", PGBENCH, t);
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(text);
  if (!m) throw new Error(`no tps in pgbench output:\n${text}`);
  return Number(m[1]);
}

/** A v1 cgroup (cpu and memory) with the plan's limits, as the agent gives the add-on's container. */
function makeCgroup(name: string): { enter: string; remove: () => void } {
  const cpu = `/sys/fs/cgroup/cpu/${name}`;
  const mem = `/sys/fs/cgroup/memory/${name}`;
  fs.mkdirSync(cpu);
  fs.mkdirSync(mem);
  fs.writeFileSync(`${cpu}/cpu.cfs_period_us`, "100000");
  fs.writeFileSync(`${cpu}/cpu.cfs_quota_us`, String(Math.round(PLAN.cpu * 100_000)));
  fs.writeFileSync(`${mem}/memory.limit_in_bytes`, String(PLAN.memoryMb * 1024 * 1024));
  return {
    enter: `echo $$ > ${cpu}/cgroup.procs && echo $$ > ${mem}/cgroup.procs`,
    remove: () => {
      for (const d of [cpu, mem]) fs.rmdirSync(d);
    },
  };
}

/** The same PostgreSQL 15 on the host: a scratch cluster with the add-on's settings; stop() removes it. */
async function hostCluster(): Promise<{ target: PgTarget; version: string; stop: () => Promise<void> }> {
  const dir = fs.mkdtempSync("/var/tmp/berth-bench-pg-"); // the disk the agent's volumes are on (not tmpfs)
  let cg: ReturnType<typeof makeCgroup> | undefined;
  const removeAll = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    cg?.remove();
  };
  try {
    cg = makeCgroup(path.basename(dir));
    return await startCluster(dir, cg, removeAll);
  } catch (err) {
    await exec("/usr/sbin/runuser", [
      "-u",
      "postgres",
      "--",
      `${PG_BIN}/pg_ctl`,
      "-D",
      path.join(dir, "data"),
      "-m",
      "immediate",
      "stop",
    ]).catch(() => undefined);
    removeAll();
    throw err;
  }
}

async function startCluster(
  dir: string,
  cg: ReturnType<typeof makeCgroup>,
  removeAll: () => void,
): Promise<{ target: PgTarget; version: string; stop: () => Promise<void> }> {
  const data = path.join(dir, "data");
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const password = `bench${Math.random().toString(16).slice(2)}`;
  const asPg = (cmd: string) =>
    exec("/usr/sbin/runuser", ["-u", "postgres", "--", "sh", "-c", cmd], {
      env: { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
  const uid = Number((await exec("id", ["-u", "postgres"])).stdout.trim());
  const gid = Number((await exec("id", ["-g", "postgres"])).stdout.trim());
  fs.chownSync(dir, uid, gid);
  fs.writeFileSync(path.join(dir, "pw"), password, { mode: 0o600 });
  fs.chownSync(path.join(dir, "pw"), uid, gid);
  await asPg(
    `${PG_BIN}/initdb -D ${data} -U bench --pwfile=${dir}/pw -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null`,
  );
  fs.rmSync(path.join(dir, "pw"));
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories= -c max_connections=${PLAN.maxConnections} -c shared_buffers=${SHARED_BUFFERS}`;
  // The shell enters the cgroup first, so the postmaster and every backend it forks are in it.
  await exec("sh", [
    "-c",
    `${cg.enter} && exec /usr/sbin/runuser -u postgres -- ${PG_BIN}/pg_ctl -D ${data} -l ${dir}/log -w -o "${opts}" start >/dev/null`,
  ]);
  const stop = async () => {
    await asPg(`${PG_BIN}/pg_ctl -D ${data} -m fast -w stop >/dev/null`).catch((e: unknown) =>
      note(`stopping the host cluster: ${String(e)}`),
    );
    await sleep(200);
    removeAll();
  };
  const target = { host: "127.0.0.1", port, user: "bench", password, database: "postgres" };
  const version = (await pgTool("psql", ["-Atc", "show server_version"], target)).trim();
  return { target, version, stop };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root (runc, buildah, CNI)");
  process.env.BERTH_STACK_CACHE_DIR ||= SHARED_STACK_CACHE;
  if (!fs.existsSync(path.join(process.env.BERTH_STACK_CACHE_DIR, "."))) throw new Error("no stack cache");
  const cleanups: (() => Promise<unknown>)[] = [];
  const problems: string[] = [];
  const suffix = Math.random().toString(16).slice(2, 8);
  const APP = `pgb-${suffix}`;
  try {
    const env = await createRootEnv();
    cleanups.push(async () => problems.push(...(await env.destroy())));
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-addons-"));
    cleanups.push(async () => {
      await cleanupBuilder(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const config = loadConfig({
      BERTH_DATA_DIR: dataDir,
      PORT: "0",
      HOST: "127.0.0.1",
      BERTH_LOG_LEVEL: "error",
      BERTH_ROUTER_PORT: "0",
    });
    await migrateDatabase(config.databaseUrl);
    const cp = await createControlPlane({
      config,
      log: createLogger("error"),
      dashboard: false,
      registry: true,
      router: true,
    });
    cleanups.push(() => cp.close());
    const url = `http://127.0.0.1:${await cp.listen()}`;
    const admin = new ApiClient(url);
    await admin.signUp(`${APP}@example.com`);
    const api = await admin.tokenClient("bench");
    const db = cp.services.db;
    const join = (await createLocalJoinToken(db, { name: `${APP}-node` })).token;
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: url, joinToken: join, nodeName: `${APP}-node`, portBase });
    const inspector = await OciBackend.open(
      backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })),
      silentLogger(),
    );
    const agent: ChildProcess = spawnAgent(flags);
    cleanups.push(async () => {
      const none = () =>
        inspector.list().then(
          (l) => l.length === 0,
          () => false,
        );
      await until("containers gone", none, 120_000).catch((e: unknown) => problems.push(String(e)));
      await stopAgent(agent);
      for (const c of await inspector.list())
        await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
      for (const id of await inspector.volumeStore.ids())
        await inspector.volumeStore.destroy(id).catch((e: unknown) => problems.push(String(e)));
    });
    await until(
      "node ready",
      async () => (await db.node.findUnique({ where: { name: `${APP}-node` } }))?.state === "ready",
    );
    if ((await api.req("POST", "/api/v1/apps", { name: APP })).status !== 201) throw new Error("app create failed");
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-addons-home-"));
    cleanups.push(async () => fs.rmSync(home, { recursive: true, force: true }));

    out(
      `# bench/addons.ts: ${ROUNDS} pgbench rounds of ${SECONDS} s (${PGBENCH.join(" ")}), ${SAMPLES} provisioning samples; ${os.cpus().length} CPUs`,
    );

    // 1. A fresh data dir's first add-on: the stack from the cache into the builder's store, then its first push.
    const store = stackStorage(builderDirOf(config.dataDir));
    let t = Date.now();
    const stack = await ensureStack(store, "postgres");
    const loadMs = Date.now() - t;
    t = Date.now();
    await pushImage(store, stack.image, `${APP}:first-push`, cp.services.registry(), () => undefined);
    const pushMs = Date.now() - t;
    out(
      `first add-on of a fresh data dir: stack from the cache ${(loadMs / 1000).toFixed(1)} s, first push into the registry ${(pushMs / 1000).toFixed(1)} s (load ${load()})`,
    );

    // 2. Provisioning with the image cached: the command until DATABASE_URL is set.
    const times: number[] = [];
    let addon = "";
    for (let i = 0; i < SAMPLES; i++) {
      const started = Date.now();
      const hasUrl = () =>
        db.configVar.findFirst({ where: { app: { name: APP }, key: "DATABASE_URL" } }).then((v) => v !== null);
      const cli = runBerth(["addons:create", "postgres", "-a", APP, "--json"], { url, token: api.token, home });
      await until("DATABASE_URL set", hasUrl, 300_000);
      const ms = Date.now() - started;
      const r = await cli;
      if (r.code !== 0) throw new Error(`addons:create failed: ${r.stderr}`);
      addon = (JSON.parse(r.stdout) as { name: string }).name;
      times.push(ms);
      out(`provisioning ${i + 1}: ${(ms / 1000).toFixed(1)} s from the command to DATABASE_URL (load ${load()})`);
      if (i < SAMPLES - 1) {
        const d = await api.req("DELETE", `/api/v1/apps/${APP}/addons/${addon}`);
        if (d.status !== 204) throw new Error(`destroy failed: ${JSON.stringify(d.body)}`);
        addon = "";
      }
    }
    cleanups.push(async () => {
      if (addon) await api.req("DELETE", `/api/v1/apps/${APP}/addons/${addon}`);
    });
    out(
      `provisioning median ${(median(times) / 1000).toFixed(1)} s, max ${(Math.max(...times) / 1000).toFixed(1)} s (target <= 15 s)`,
    );

    // 3. pgbench: the add-on (through its published port, as apps reach it) next to the host's own cluster.
    const a = await db.addon.findFirstOrThrow({ where: { name: addon } });
    const vars = Object.fromEntries(
      (await db.configVar.findMany({ where: { appId: a.serviceAppId } })).map((v) => [v.key, v.value]),
    );
    const addr = await serviceAddress(cp.services, a.serviceAppId);
    if (!addr) throw new Error("the add-on does not run");
    const berth: PgTarget = {
      host: addr.host,
      port: addr.port,
      user: vars[CREDENTIAL_VARS.user] ?? "",
      password: vars[CREDENTIAL_VARS.password] ?? "",
      database: vars[CREDENTIAL_VARS.database] ?? "",
    };
    const host = await hostCluster();
    cleanups.push(() => host.stop());
    const berthVersion = (await pgTool("psql", ["-Atc", "show server_version"], berth)).trim();
    const settings =
      "select current_setting('shared_buffers')||' '||current_setting('fsync')||' '||current_setting('synchronous_commit')||' '||current_setting('max_connections')";
    out(`versions: add-on ${berthVersion}, host ${host.version}`);
    out(
      `settings (shared_buffers fsync synchronous_commit max_connections): add-on ${(await pgTool("psql", ["-Atc", settings], berth)).trim()}, host ${(await pgTool("psql", ["-Atc", settings], host.target)).trim()}`,
    );
    for (const [name, target] of [
      ["add-on", berth],
      ["host", host.target],
    ] as const) {
      t = Date.now();
      await pgTool("pgbench", ["-i", "-s", "10", "-q"], target);
      out(`pgbench -i -s 10 on ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s (load ${load()})`);
    }
    const berthTps: number[] = [];
    const hostTps: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Alternating which goes first, so a drift in the machine's load does not favour one side.
      const order = r % 2 === 0 ? (["add-on", "host"] as const) : (["host", "add-on"] as const);
      for (const side of order) {
        const before = load();
        const v = await tps(side === "add-on" ? berth : host.target);
        (side === "add-on" ? berthTps : hostTps).push(v);
        out(`round ${r + 1} ${side.padEnd(6)} ${v.toFixed(1)} tps (load before ${before}, after ${load()})`);
      }
    }
    const ratio = median(berthTps) / median(hostTps);
    out(
      `median tps: add-on ${median(berthTps).toFixed(1)}, host ${median(hostTps).toFixed(1)}; ratio ${ratio.toFixed(2)} (target >= 0.9); load ${load()}`,
    );
    // Where a gap comes from: without waiting for WAL flushes (per session; the servers keep their settings), and
    // select-only (no writes: the network path and CPU only).
    for (const [label, options, extra] of [
      ["synchronous_commit=off (session)", "-c synchronous_commit=off", []],
      ["select-only (-S)", "", ["-S"]],
    ] as const) {
      const text = async (target: PgTarget) => {
        const o = await pgTool("pgbench", [...PGBENCH, ...extra], target, options);
        return Number(/tps = ([\d.]+) \(without/.exec(o)?.[1] ?? NaN);
      };
      const b1 = await text(berth);
      const h1 = await text(host.target);
      out(
        `diagnostic ${label}: add-on ${b1.toFixed(1)} tps, host ${h1.toFixed(1)} tps, ratio ${(b1 / h1).toFixed(2)} (load ${load()})`,
      );
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => problems.push(String(e)));
    if (problems.length) {
      note(`cleanup problems:\n${problems.join("\n")}`);
      process.exitCode = 1;
    }
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    note(String(err instanceof Error ? (err.stack ?? err.message) : err));
    process.exit(1);
  },
);
