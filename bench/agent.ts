// Benchmark: the node agent's runtime on this host, side by side with the raw tools in one run. Needs root.
// 1. Start latency (create -> process running) and stop+delete of a busybox `sleep` container: Berth's OciBackend
//    in five variants (the path before issue 13 without network policy, user namespace and disk limit, each of them
//    alone, today's defaults with all three) vs raw `runc run -d` of the old path's spec on a rootfs mounted once (no
//    CNI, no conmon) vs
//    raw `buildah from` + `buildah mount` + `runc run -d` per container. Iterations interleaved; phases per variant;
//    the first start of new teams and the disk a writable layer and a new team's id block take.
// 2. Density: N idle containers through the OciBackend (64 MiB limit each, started concurrently as the reconciler
//    does), conmon RSS/PSS per container, agent-side heap, time to start and to stop+delete all, host counts after.
// 3. Logs: one container printing 80-char lines as fast as it can through conmon's k8s-file log; lines/s the
//    LogShipper reads and ships (in-process, counting sender) vs `wc -l` of the same file; and written -> shipped
//    latency of single lines at 10 lines/s.
// Everything runs in an isolated root environment (own bridge, subnet, storage); env.destroy() removes it all.
// Run: sudo npx tsx bench/agent.ts [iterations] [containers] [log-lines] [sections]
//      (default 20 50 200000 latency,density,logs)
// Results go to stdout; copy them into docs/benchmarks.md.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { openSync, closeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { LogShipper, withLogShipping } from "../runtime-agent/agent/log-shipper.ts";
import { silentLogger } from "../runtime-agent/log.ts";
import type { LogBatch } from "../runtime-agent/protocol/notifications.ts";
import { run } from "../runtime-agent/runtime/exec.ts";
import { OciBackend } from "../runtime-agent/runtime/oci-backend.ts";
import { hostCounts, type HostCounts } from "../runtime-agent/test-support/host-counts.ts";
import { createRootEnv, type RootEnv } from "../runtime-agent/test-support/root-env.ts";

const ITERATIONS = Number(process.argv[2] ?? 20);
const CONTAINERS = Number(process.argv[3] ?? 50);
const LOG_LINES = Number(process.argv[4] ?? 200_000);
const SECTIONS = new Set((process.argv[5] ?? "latency,density,logs").split(","));
const LAT_LINES = 100;
const RUNC = "/usr/sbin/runc";
const SLEEP = ["/bin/sleep", "1000000"];
const LINE = "berth bench log line: the quick brown fox jumps over the lazy dog 0123456789 abcd";
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s: string) => process.stdout.write(s);
const note = (s: string) => process.stderr.write(`${s}\n`);

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

/** Nearest-rank percentile. */
function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : "-");

async function until(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000, stepMs = 5) {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Same check as OciBackend.start: runc's init has exec'd the user process. */
async function waitForExec(pid: number): Promise<void> {
  await until("exec", async () => {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    return !(argv[1] === "init" && (argv[0] ?? "").endsWith("runc"));
  });
}

/** True once the process is gone or a zombie. */
async function exited(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat === "" || / Z /.test(stat.slice(stat.lastIndexOf(")")));
}

/** Runs a program with stdio not tied to this process (a detached container inherits runc's stdio). */
function spawnWait(file: string, args: string[], errLog: string): Promise<void> {
  const fd = openSync(errLog, "a");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "ignore", fd] });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(" ")}: exit ${code}`)),
    );
  }).finally(() => closeSync(fd));
}

async function procKb(pid: string, file: string, field: string): Promise<number> {
  const text = await fs.readFile(`/proc/${pid}/${file}`, "utf8").catch(() => "");
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
}

/** conmon processes of this backend (same match as host-counts.ts). */
async function conmonPids(stateDir: string): Promise<string[]> {
  const pids: string[] = [];
  for (const pid of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.split("\0")[0]?.endsWith("conmon") && cmd.includes(stateDir)) pids.push(pid);
  }
  return pids;
}

async function memAvailableKb(): Promise<number> {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(await fs.readFile("/proc/meminfo", "utf8"))?.[1] ?? 0);
}

/** A LogShipper whose sender encodes each batch as the connection would, and counts complete lines. */
function countingShipper(stateDir: string, over: { intervalMs?: number; maxReadPerPoll?: number } = {}) {
  const counter = { lines: 0, bytes: 0, batches: 0, first: "", last: "" };
  const shipper = new LogShipper({
    stateDir,
    log: silentLogger(),
    canSend: () => true,
    send: (batch: LogBatch) => {
      counter.batches++;
      counter.bytes += JSON.stringify({ method: "instance.logs", params: batch }).length;
      for (const l of batch.lines) {
        if (l.partial) continue;
        if (counter.lines === 0) counter.first = l.text;
        counter.lines++;
        counter.last = l.text;
      }
    },
    ...over,
  });
  return { shipper, counter };
}

let env: RootEnv | undefined;
/** Backends the latency section opens besides the environment's own (their containers are deleted at cleanup). */
const extraBackends: OciBackend[] = [];
const rawRunc: { root: string; ids: Set<string> } = { root: "", ids: new Set() };
const shippers: LogShipper[] = [];

// ---------------------------------------------------------------------------------------------------------------
// 1. Start latency
// ---------------------------------------------------------------------------------------------------------------

interface Sample {
  run: number;
  create?: number;
  start?: number;
  stop: number;
  rootfs?: number;
  layer?: number;
  network?: number;
  /** Of `network`: the CNI bandwidth plugin's ADD alone. */
  bandwidth?: number;
  /** Rebuilding the node's network policy chains at create. */
  policy?: number;
}

/** Berth's isolation variants measured side by side: the path before issue 13, each addition alone, the defaults. */
// Only one variant at a time has a container, so the two with a network policy (same bridge, same chains) never
// rebuild the chains under each other's instances.
const VARIANTS = [
  {
    key: "old",
    name: "Berth before issue 13: no network policy, no user namespace, no disk limit",
    policy: false,
    userns: false,
    disk: false,
  },
  { key: "policy", name: "+ network policy only (iptables chains per node)", policy: true, userns: false, disk: false },
  {
    key: "userns",
    name: "+ user namespace only (per-team ids, userns-owned netns)",
    policy: false,
    userns: true,
    disk: false,
  },
  {
    key: "disk",
    name: "+ disk limit only (loop ext4 + overlay writable layer)",
    policy: false,
    userns: false,
    disk: true,
  },
  {
    key: "new",
    name: "Berth defaults now: network policy + user namespace + disk limit",
    policy: true,
    userns: true,
    disk: true,
  },
] as const;
type VariantKey = (typeof VARIANTS)[number]["key"];

/** A backend on the environment's bridge, storage and cgroup parent, with its own state, runc root and run dir. */
async function variantBackend(e: RootEnv, v: (typeof VARIANTS)[number]): Promise<OciBackend> {
  if (v.key === "new") return e.backend;
  return OciBackend.open(
    {
      ...e.backend.config,
      stateDir: path.join(e.tmp, `state-${v.key}`),
      runcRoot: path.join(e.tmp, `runc-${v.key}`),
      runDir: path.join(e.tmp, `containers-${v.key}`),
      userNamespaces: { ...e.backend.config.userNamespaces, enabled: v.userns },
      diskLimits: v.disk,
      networkPolicy: { ...e.backend.config.networkPolicy, enabled: v.policy },
    },
    silentLogger(),
  );
}

async function latency(e: RootEnv) {
  const backends = new Map<VariantKey, OciBackend>();
  for (const v of VARIANTS) backends.set(v.key, await variantBackend(e, v));
  extraBackends.push(...[...backends.values()].filter((b) => b !== e.backend));
  const legacy = backends.get("old") as OciBackend;
  // Phase timing by wrapping the backends' steps (bench only; the backends are unchanged).
  const phase = { rootfs: 0, layer: 0, network: 0, bandwidth: 0, policy: 0 };
  const wrap = (obj: object, name: string, bucket: keyof typeof phase) => {
    const o = obj as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = (o[name] as (...a: unknown[]) => Promise<unknown>).bind(obj);
    o[name] = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await original(...args);
      } finally {
        phase[bucket] += performance.now() - t;
      }
    };
  };
  for (const b of backends.values()) {
    // Since the overlay start path (issue 19): image lookup and idmapped layers are "rootfs", the loop and overlay
    // mounts "writable layer" (mkfs is not wrapped), and the netns/userns creation is not timed apart.
    wrap(b.images, "resolve", "rootfs");
    wrap(b.idmapped, "ensure", "rootfs");
    wrap(b.mounter, "mount", "layer");
    wrap((b as unknown as { cni: object }).cni, "add", "network");
    const network = (b as unknown as { network?: object }).network;
    if (network) wrap(network, "refresh", "policy");
    // The bandwidth plugin's share of the network phase (it runs for every variant).
    const cni = (b as unknown as { cni: Record<string, (...a: unknown[]) => Promise<unknown>> }).cni;
    const exec = (cni.exec as (...a: unknown[]) => Promise<unknown>).bind(cni);
    cni.exec = async (...args: unknown[]) => {
      const t = performance.now();
      try {
        return await exec(...args);
      } finally {
        if ((args[1] as { type?: string }).type === "bandwidth" && args[0] === "ADD")
          phase.bandwidth += performance.now() - t;
      }
    };
  }

  const rawDir = path.join(e.tmp, "raw");
  rawRunc.root = path.join(rawDir, "runc");
  await fs.mkdir(rawRunc.root, { recursive: true, mode: 0o700 });
  const errLog = path.join(rawDir, "runc-stderr.log");

  // The raw spec is Berth's own config.json from the old path (same seccomp, caps, mounts, limits, no user
  // namespace), minus the CNI netns path: runc creates a fresh, unconfigured network namespace instead.
  await legacy.create(e.container("spec-src", { command: SLEEP }));
  const berthSpec = JSON.parse(await fs.readFile(path.join(legacy.store.bundle("spec-src"), "config.json"), "utf8"));
  for (const f of ["hosts", "resolv.conf"] as const)
    await fs.copyFile(legacy.store.platformFile("spec-src", f), path.join(rawDir, f));
  await legacy.delete("spec-src");
  const rawSpec = (id: string, rootfs: string) => ({
    ...berthSpec,
    hostname: id,
    root: { ...berthSpec.root, path: rootfs },
    mounts: (berthSpec.mounts as { destination: string; source: string }[]).map((m) =>
      m.destination === "/etc/hosts" || m.destination === "/etc/resolv.conf"
        ? { ...m, source: path.join(rawDir, path.basename(m.destination)) }
        : m,
    ),
    linux: {
      ...berthSpec.linux,
      cgroupsPath: `${legacy.config.cgroupParent}/${id}`,
      namespaces: (berthSpec.linux.namespaces as { type: string }[]).map((n) =>
        n.type === "network" ? { type: "network" } : n,
      ),
    },
  });
  // One rootfs for every raw `runc run` (a sleep writes nothing to it).
  const sharedName = `${legacy.config.namePrefix}raw-shared`;
  await legacy.buildah.from(sharedName, e.image);
  const sharedRootfs = await legacy.buildah.mount(sharedName);

  const runcArgs = ["--root", rawRunc.root];
  const rawStart = async (id: string, rootfs: string): Promise<number> => {
    const bundle = path.join(rawDir, id);
    await fs.mkdir(bundle, { recursive: true });
    await fs.writeFile(path.join(bundle, "config.json"), JSON.stringify(rawSpec(id, rootfs)));
    rawRunc.ids.add(id);
    const pidFile = path.join(bundle, "pid");
    await spawnWait(RUNC, [...runcArgs, "run", "-d", "--pid-file", pidFile, "--bundle", bundle, id], errLog);
    const pid = Number((await fs.readFile(pidFile, "utf8")).trim());
    await waitForExec(pid);
    return pid;
  };
  const rawStop = async (id: string, pid: number) => {
    await run(RUNC, [...runcArgs, "kill", id, "KILL"]);
    await until("raw exit", () => exited(pid));
    await run(RUNC, [...runcArgs, "delete", id]);
    rawRunc.ids.delete(id);
    await fs.rm(path.join(rawDir, id), { recursive: true, force: true });
  };

  const berth = async (key: VariantKey, i: number): Promise<Sample> => {
    const backend = backends.get(key) as OciBackend;
    const id = `lat-${key}-${i}`;
    phase.rootfs = 0;
    phase.layer = 0;
    phase.network = 0;
    phase.bandwidth = 0;
    phase.policy = 0;
    const t0 = performance.now();
    await backend.create(e.container(id, { command: SLEEP }));
    const t1 = performance.now();
    await backend.start(id);
    const t2 = performance.now();
    const snapshot = { ...phase };
    await backend.stop(id, 0); // busybox sleep as pid 1 ignores SIGTERM: grace 0 goes straight to SIGKILL
    await backend.delete(id);
    const t3 = performance.now();
    return { run: t2 - t0, create: t1 - t0, start: t2 - t1, stop: t3 - t2, ...snapshot };
  };
  const raw = async (i: number): Promise<Sample> => {
    const id = `raw-${i}`;
    const t0 = performance.now();
    const pid = await rawStart(id, sharedRootfs);
    const t1 = performance.now();
    await rawStop(id, pid);
    return { run: t1 - t0, stop: performance.now() - t1 };
  };
  const rawBuildah = async (i: number): Promise<Sample> => {
    const id = `rawb-${i}`;
    const name = `${legacy.config.namePrefix}${id}`;
    const t0 = performance.now();
    await legacy.buildah.from(name, e.image);
    const rootfs = await legacy.buildah.mount(name);
    const tr = performance.now();
    const pid = await rawStart(id, rootfs);
    const t1 = performance.now();
    await rawStop(id, pid);
    await legacy.buildah.remove(name);
    return { run: t1 - t0, rootfs: tr - t0, stop: performance.now() - t1 };
  };

  // One warm-up round (bridge creation, first buildah from, the test team's id block), then interleaved rounds so
  // load hits every path alike.
  for (const v of VARIANTS) await berth(v.key, -1);
  await raw(-1).then(() => rawBuildah(-1));
  const rows = {
    berth: new Map<VariantKey, Sample[]>(VARIANTS.map((v) => [v.key, []])),
    raw: [] as Sample[],
    rawBuildah: [] as Sample[],
  };
  for (let i = 0; i < ITERATIONS; i++) {
    for (const v of VARIANTS) rows.berth.get(v.key)?.push(await berth(v.key, i));
    rows.raw.push(await raw(i));
    rows.rawBuildah.push(await rawBuildah(i));
  }
  await legacy.buildah.remove(sharedName);

  const col = (s: Sample[], k: keyof Sample) => s.map((x) => x[k] as number);
  const p50 = (s: Sample[], k: keyof Sample) => pct(col(s, k), 0.5);
  const rawP50 = p50(rows.raw, "run");
  const rawStopP50 = p50(rows.raw, "stop");
  const of = (key: VariantKey) => rows.berth.get(key) as Sample[];
  out(`\n### 1. start latency: create -> process running (busybox sleep, ${ITERATIONS} runs each, interleaved)\n\n`);
  out(
    "| path | run p50 (ms) | run p95 (ms) | vs raw runc p50 | vs old path p50 | stop+delete p50 (ms) | stop+delete p95 (ms) |\n",
  );
  out("|---|---|---|---|---|---|---|\n");
  const oldP50 = p50(of("old"), "run");
  const line = (name: string, s: Sample[]) =>
    out(
      `| ${name} | ${ms(p50(s, "run"))} | ${ms(pct(col(s, "run"), 0.95))} | ${(p50(s, "run") / rawP50).toFixed(2)} | ` +
        `${(p50(s, "run") / oldP50).toFixed(2)} | ${ms(p50(s, "stop"))} | ${ms(pct(col(s, "stop"), 0.95))} |\n`,
    );
  for (const v of VARIANTS) line(v.name, of(v.key));
  line("raw `runc run -d`, old path's spec, rootfs mounted once, new empty netns, no conmon", rows.raw);
  line("raw `buildah from` + `buildah mount` + `runc run -d` per container", rows.rawBuildah);
  const ratio = (a: VariantKey, q: number) => pct(col(of(a), "run"), q) / pct(col(of("old"), "run"), q);
  out(`\nNew defaults / old path, create -> running: p50 ${ratio("new", 0.5).toFixed(2)}, `);
  out(`p95 ${ratio("new", 0.95).toFixed(2)}; network policy alone p50 ${ratio("policy", 0.5).toFixed(2)}, `);
  out(`user namespace alone p50 ${ratio("userns", 0.5).toFixed(2)}, `);
  out(`disk limit alone p50 ${ratio("disk", 0.5).toFixed(2)}. `);
  out(`Stop+delete new/old p50 ${(p50(of("new"), "stop") / p50(of("old"), "stop")).toFixed(2)}; `);
  out(`raw runc stop p50 ${ms(rawStopP50)} ms.\n`);
  out("\ncreate+start by phase (p50 ms):\n\n");
  out(
    "| path | rootfs (image lookup, idmapped layers) | mounts (loop ext4, overlay) | CNI ADD (netns/userns in other) | of which bandwidth plugin | network policy rebuild | other (conmon, runc create, files) | runc start + exec |\n",
  );
  out("|---|---|---|---|---|---|---|---|\n");
  for (const v of VARIANTS) {
    const s = of(v.key);
    const other = s.map((x) => (x.create ?? 0) - (x.rootfs ?? 0) - (x.layer ?? 0) - (x.network ?? 0) - (x.policy ?? 0));
    out(
      `| ${v.key} | ${ms(p50(s, "rootfs"))} | ${ms(p50(s, "layer"))} | ${ms(p50(s, "network"))} | ` +
        `${ms(p50(s, "bandwidth"))} | ${ms(p50(s, "policy"))} | ` +
        `${ms(pct(other, 0.5))} | ${ms(p50(s, "start"))} |\n`,
    );
  }
  out(`\nraw buildah from+mount p50 ${ms(p50(rows.rawBuildah, "rootfs"))} ms\n`);

  // Disk: what a new team's first container costs in containers/storage (idmapped layers: nothing copied), next to
  // the same number of containers on the old path, and what an instance's writable layer takes on the host.
  // `du -x` stays on the storage's filesystem: the mounted rootfs overlays are not counted as storage.
  const du = async (p: string) => Number((await run("/usr/bin/du", ["-skx", "--", p])).stdout.split("\t")[0]);
  const grow = async (backend: OciBackend, prefix: string, team: (i: number) => string) => {
    const before = await du(backend.config.storage.root);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await backend.create(e.container(`${prefix}-${i}`, { team: team(i), command: SLEEP }));
      await backend.start(`${prefix}-${i}`);
      times.push(performance.now() - t0);
    }
    const kib = (await du(backend.config.storage.root)) - before;
    const layer = backend.config.diskLimits ? await du(backend.store.file(`${prefix}-0`, "disk.img")) : NaN;
    for (let i = 0; i < 3; i++) {
      await backend.stop(`${prefix}-${i}`, 0);
      await backend.delete(`${prefix}-${i}`);
    }
    return { times, kib, layer };
  };
  const fresh = await grow(e.backend, "newteam", (i) => `bench-team-${i}`);
  const plain = await grow(legacy, "plainteam", (i) => `bench-team-${i}`);
  out(
    `\nfirst container of 3 new teams (id block allocated, layers shifted by idmapped mounts): create+start ` +
      `${fresh.times.map((x) => ms(x)).join(", ")} ms (defaults p50 ${ms(p50(of("new"), "run"))} ms); ` +
      `containers/storage grew by ${fresh.kib} KiB for them vs ${plain.kib} KiB for 3 containers on the old path ` +
      `(no chowned copy of the image per team); a fresh writable-layer image (1 GiB limit, sparse) takes ` +
      `${fresh.layer} KiB on the host.\n`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Density
// ---------------------------------------------------------------------------------------------------------------

async function density(e: RootEnv) {
  const { backend } = e;
  const { shipper } = countingShipper(path.join(e.tmp, "density-agent"));
  shippers.push(shipper);
  await shipper.start([]);
  const agentBackend = withLogShipping(backend, shipper);
  const ids = Array.from({ length: CONTAINERS }, (_, i) => `idle-${i}`);
  const before = await hostCounts(backend, e.tmp, ids);
  gc();
  const heapBefore = process.memoryUsage();
  const availBefore = await memAvailableKb();

  // Concurrently, as the reconciler converges every missing instance at once.
  const starts: number[] = [];
  const t0 = performance.now();
  await Promise.all(
    ids.map(async (id) => {
      await agentBackend.create(
        e.container(id, { command: SLEEP, limits: { memoryBytes: 64 * MiB, cpuMillis: 100, pids: 16 } }),
      );
      await agentBackend.start(id);
      starts.push(performance.now() - t0);
    }),
  );
  const startAll = performance.now() - t0;
  // One rebuild of the node's policy with all of them in it (what every later create and delete pays).
  const policy = (backend as unknown as { network: { refresh(): Promise<void> } }).network;
  const rebuilds: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await policy.refresh();
    rebuilds.push(performance.now() - t);
  }
  await sleep(2_000);
  const running = (await backend.list()).filter((c) => c.status === "running").length;

  const pids = await conmonPids(backend.config.stateDir);
  let rss = 0;
  let pss = 0;
  for (const pid of pids) {
    rss += await procKb(pid, "status", "VmRSS");
    pss += await procKb(pid, "smaps_rollup", "Pss");
  }
  let cgroupMem = 0;
  for (const id of ids) cgroupMem += (await backend.stats(id)).memoryBytes;
  gc();
  const heapAfter = process.memoryUsage();
  const availAfter = await memAvailableKb();
  const loadDuring = os.loadavg()[0]?.toFixed(1);

  const t1 = performance.now();
  await Promise.all(ids.map(async (id) => agentBackend.stop(id, 0).then(() => agentBackend.delete(id))));
  const stopAll = performance.now() - t1;
  await shipper.stop();
  const after = await hostCounts(backend, e.tmp, ids);
  // Every count is scoped to this environment (host-counts.ts), so other root jobs do not move them.
  const scoped = Object.keys(before) as (keyof HostCounts)[];
  const leaks = scoped.filter((k) => before[k] !== after[k]);

  const n = CONTAINERS;
  out(`\n### 2. density: ${n} idle busybox sleep containers (64 MiB limit each), started concurrently\n\n`);
  out("| measure | total | per container |\n|---|---|---|\n");
  out(`| time to create+start all (${running}/${n} running) | ${(startAll / 1000).toFixed(1)} s | `);
  out(`${ms(startAll / n)} ms (first running after ${ms(Math.min(...starts))} ms) |\n`);
  out(`| time to stop+delete all | ${(stopAll / 1000).toFixed(1)} s | ${ms(stopAll / n)} ms |\n`);
  out(`| network policy rebuild with ${n} instances (p50 of 5) | ${ms(pct(rebuilds, 0.5))} ms | - |\n`);
  out(`| conmon RSS (${pids.length} processes) | ${(rss / 1024).toFixed(1)} MiB | ${(rss / n).toFixed(0)} KiB |\n`);
  out(`| conmon PSS (shared pages split) | ${(pss / 1024).toFixed(1)} MiB | ${(pss / n).toFixed(0)} KiB |\n`);
  const heapDelta = (heapAfter.heapUsed - heapBefore.heapUsed) / 1024;
  const rssDelta = (heapAfter.rss - heapBefore.rss) / 1024;
  out(
    `| agent process heap used after GC (delta) | ${(heapDelta / 1024).toFixed(2)} MiB | ${(heapDelta / n).toFixed(1)} KiB |\n`,
  );
  out(
    `| agent process RSS (delta, noisy) | ${(rssDelta / 1024).toFixed(1)} MiB | ${(rssDelta / n).toFixed(0)} KiB |\n`,
  );
  out(`| container cgroups (the sleep itself, not overhead) | ${(cgroupMem / MiB).toFixed(1)} MiB | `);
  out(`${(cgroupMem / 1024 / n).toFixed(0)} KiB |\n`);
  out(`\nload average while ${n} ran: ${loadDuring}. Host counts after stop+delete `);
  out(leaks.length === 0 ? "equal to before" : `DIFFER (${leaks.join(", ")})`);
  out(` for ${scoped.join(", ")}: ${JSON.stringify(Object.fromEntries(scoped.map((k) => [k, after[k]])))}`);
  out(". ");
  out(`Host MemAvailable moved by ${((availBefore - availAfter) / 1024).toFixed(0)} MiB while ${n} ran `);
  out("(kernel memory, page cache and every other job on the host: not attributable).\n");
  if (leaks.length > 0) throw new Error(`density left host resources behind: ${leaks.join(", ")}`);
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Logs
// ---------------------------------------------------------------------------------------------------------------

async function logs(e: RootEnv) {
  // Same host resources as the environment's backend, but a log limit above the test's output so nothing rotates.
  const backend = await OciBackend.open({ ...e.backend.config, logSizeMaxBytes: 1024 * MiB }, silentLogger());
  const dir = path.join(e.tmp, "logs-agent");

  // Live: the shipper tails while the container writes.
  const live = countingShipper(path.join(dir, "live"));
  shippers.push(live.shipper);
  await live.shipper.start([]);
  const info = await backend.create(
    e.container("log-fast", { command: ["/bin/sh", "-c", `yes '${LINE}' | head -n ${LOG_LINES}`] }),
  );
  await live.shipper.track(info);
  const t0 = performance.now();
  await backend.start("log-fast");
  let written = NaN;
  const writer = until(
    "writer exit",
    async () => (await backend.state("log-fast"))?.status === "stopped",
    300_000,
    10,
  ).then(() => (written = performance.now() - t0));
  await until("live shipping", () => live.counter.lines >= LOG_LINES, 300_000);
  const liveMs = performance.now() - t0;
  await writer;
  await live.shipper.stop();
  const file = info.logPath as string;
  const size = (await fs.stat(file)).size;
  const inFile = Number((await run("/usr/bin/wc", ["-l", file])).stdout.trim().split(" ")[0]);
  if (live.counter.lines !== LOG_LINES || live.counter.last !== LINE)
    throw new Error(`live shipper counted ${live.counter.lines} lines, last ${JSON.stringify(live.counter.last)}`);

  // Catch-up: the whole file is there; default settings (150 ms poll, 1 MiB per instance per poll) and unthrottled.
  const catchUp = async (name: string, over: { intervalMs?: number; maxReadPerPoll?: number }) => {
    const s = countingShipper(path.join(dir, name), over);
    shippers.push(s.shipper);
    await s.shipper.start([]);
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    await s.shipper.track(info);
    await until(name, () => s.counter.lines >= LOG_LINES, 300_000, 1);
    const elapsed = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    await s.shipper.stop();
    return { ms: elapsed, cpu: (cpu.user + cpu.system) / 1000, bytes: s.counter.bytes, batches: s.counter.batches };
  };
  const catchDefault = await catchUp("catch-up-default", {});
  const catchFast = await catchUp("catch-up-unthrottled", { intervalMs: 0, maxReadPerPoll: 1024 * MiB });
  const wc: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await run("/usr/bin/wc", ["-l", file]);
    wc.push(performance.now() - t);
  }
  const wcSpawn: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await run("/usr/bin/wc", ["-l", "/dev/null"]);
    wcSpawn.push(performance.now() - t);
  }
  await backend.delete("log-fast");

  // Latency at 10 lines/s: the bench writes into a FIFO in the container's rootfs; `cat` in the container copies each
  // line to its stdout (conmon -> k8s-file); the shipper (default settings) ships it. Same clock on both ends.
  const lat = await backend.create(e.container("log-lat", { command: ["/bin/sh", "-c", "exec cat /bench.fifo"] }));
  const rootfs = (await backend.store.readMeta("log-lat"))?.rootfs as string;
  await run("/usr/bin/mkfifo", [path.join(rootfs, "bench.fifo")]);
  const sentAt: number[] = [];
  const e2e: number[] = [];
  const shipOnly: number[] = [];
  const toConmon: number[] = [];
  const latShipper = new LogShipper({
    stateDir: path.join(dir, "lat"),
    log: silentLogger(),
    canSend: () => true,
    send: (batch) => {
      const now = performance.now();
      const wall = performance.timeOrigin + now;
      for (const l of batch.lines) {
        const seq = /^lat (\d+)$/.exec(l.text)?.[1];
        if (seq === undefined) continue;
        // RFC3339Nano from conmon; Date.parse keeps milliseconds, add the sub-millisecond digits.
        const frac = /\.(\d+)/.exec(l.at)?.[1] ?? "";
        const stamped = Date.parse(l.at) + Number(`0.${frac.slice(3) || "0"}`);
        e2e.push(now - (sentAt[Number(seq)] as number));
        shipOnly.push(wall - stamped);
        toConmon.push(stamped - (performance.timeOrigin + (sentAt[Number(seq)] as number)));
      }
    },
  });
  shippers.push(latShipper);
  await latShipper.start([]);
  await latShipper.track(lat);
  await backend.start("log-lat");
  const fifo = await fs.open(path.join(rootfs, "bench.fifo"), "w");
  try {
    for (let i = 0; i < LAT_LINES; i++) {
      sentAt[i] = performance.now();
      await fifo.write(`lat ${i}\n`);
      await sleep(100);
    }
    await until("latency lines", () => e2e.length >= LAT_LINES, 10_000);
  } finally {
    await fifo.close();
  }
  await latShipper.stop();
  await backend.stop("log-lat", 2_000);
  await backend.delete("log-lat");

  const lps = (n: number, t: number) => `${Math.round((n / t) * 1000).toLocaleString("en-US")}`;
  const mibs = (t: number) => ((size / MiB / t) * 1000).toFixed(1);
  const wcMs = pct(wc, 0.5);
  out(`\n### 3. log throughput: ${LOG_LINES} lines of 80 chars via conmon k8s-file `);
  out(`(${(size / MiB).toFixed(1)} MiB on disk, ${inFile} records)\n\n`);
  out("| reader | time (ms) | lines/s | MiB/s of file | vs wc -l |\n|---|---|---|---|---|\n");
  const row = (name: string, t: number) =>
    out(`| ${name} | ${ms(t)} | ${lps(LOG_LINES, t)} | ${mibs(t)} | ${(wcMs / t).toFixed(3)} |\n`);
  row("container writing through conmon (start -> exit)", written);
  row("LogShipper live, default settings (150 ms poll, 1 MiB/poll), start -> last line shipped", liveMs);
  row("LogShipper catch-up on the finished file, default settings", catchDefault.ms);
  row("LogShipper catch-up, unthrottled (0 ms poll, no per-poll budget)", catchFast.ms);
  row("`wc -l` on the same file (page cache warm, p50 of 5)", wcMs);
  out(
    `\nshipper CPU for the catch-up: default ${ms(catchDefault.cpu)} ms, unthrottled ${ms(catchFast.cpu)} ms ` +
      `(${catchFast.batches} batches, ${(catchFast.bytes / MiB).toFixed(1)} MiB of JSON frames; the sender JSON-encodes ` +
      `every batch like the connection does, then drops it); \`wc -l /dev/null\` (spawn cost alone) ` +
      `${ms(pct(wcSpawn, 0.5))} ms\n`,
  );
  out(`\nsingle-line latency at 10 lines/s, ${e2e.length} lines (default shipper settings):\n\n`);
  out("| span | p50 (ms) | p99 (ms) | max (ms) |\n|---|---|---|---|\n");
  for (const [name, xs] of [
    ["written (bench -> FIFO) -> shipped (send called)", e2e],
    ["written -> conmon timestamp", toConmon],
    ["conmon timestamp -> shipped", shipOnly],
  ] as const)
    out(`| ${name} | ${ms(pct([...xs], 0.5))} | ${ms(pct([...xs], 0.99))} | ${ms(Math.max(...xs))} |\n`);
}

// ---------------------------------------------------------------------------------------------------------------

async function versions(): Promise<string> {
  const v = async (file: string, args: string[]) =>
    (await run(file, args).catch(() => ({ stdout: "?" }))).stdout.split("\n")[0]?.trim();
  return [
    await v(RUNC, ["--version"]),
    await v("/usr/bin/conmon", ["--version"]),
    await v("/usr/bin/buildah", ["--version"]),
  ].join(", ");
}

async function cleanup(): Promise<void> {
  for (const s of shippers) await s.stop().catch(() => undefined);
  for (const b of extraBackends)
    for (const c of await b.list().catch(() => [])) await b.delete(c.id).catch(() => undefined);
  for (const id of rawRunc.ids)
    await run(RUNC, ["--root", rawRunc.root, "delete", "--force", id]).catch(() => undefined);
  const problems = (await env?.destroy()) ?? [];
  env = undefined;
  if (problems.length > 0) note(`cleanup problems: ${problems.join("; ")}`);
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (runc, buildah, CNI, cgroups)");
  const loadStart = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  env = await createRootEnv();
  const cg = (await fs.stat("/sys/fs/cgroup/cgroup.controllers").catch(() => null)) ? "v2" : "v1";
  out(
    `agent benchmark, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), kernel ${os.release()}, cgroup ${cg}\n`,
  );
  out(`${await versions()}\nload average at start ${loadStart}\n`);
  if (SECTIONS.has("latency")) {
    note("1/3 start latency");
    await latency(env);
  }
  if (SECTIONS.has("density")) {
    note("2/3 density");
    await density(env);
  }
  if (SECTIONS.has("logs")) {
    note("3/3 logs");
    await logs(env);
  }
  out(
    `\nload average at end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}\n`,
  );
}

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    note(`${sig}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

main()
  .then(cleanup)
  .catch(async (err: unknown) => {
    note(err instanceof Error ? (err.stack ?? err.message) : String(err));
    await cleanup();
    process.exitCode = 1;
  });
