// Benchmark (issue 19, start path; issue 14, leaks): N sequential starts through the agent's OciBackend (defaults:
// network policy, user namespace, disk limit; create + start until the process has exec'd) interleaved with N bare
// `runc run -d` of the same bundle (the config.json Berth wrote for a template instance, joining that instance's user
// and network namespaces, on its rootfs), then stop + delete of each. Afterwards the node's garbage collection runs
// and every host count (veths, netns, IPAM leases, mounts, loop devices, cgroups, NAT and policy rules, conmon
// processes, storage and runc containers) must be back at its starting value.
// The first start (pin the image, idmap its layers for the team) is timed separately.
// Run: sudo npx tsx bench/start-path.ts [starts=1000]
// Results go to stdout; copy them into docs/benchmarks.md and docs/reliability.md.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { run } from "../runtime-agent/runtime/exec.ts";
import { hostCounts, type HostCounts } from "../runtime-agent/test-support/host-counts.ts";
import { createRootEnv, type RootEnv } from "../runtime-agent/test-support/root-env.ts";

const STARTS = Number(process.argv[2] ?? 1000);
const RUNC = "/usr/sbin/runc";
const SLEEP = ["/bin/sleep", "1000000"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (s: string) => process.stdout.write(s);
const note = (s: string) => process.stderr.write(`${s}\n`);

function pct(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 1 : 0) : "-");
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

async function waitForExec(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!(argv[1] === "init" && (argv[0] ?? "").endsWith("runc"))) return;
    if (Date.now() > deadline) throw new Error("runc init did not exec");
    await sleep(2);
  }
}

async function gone(pid: number): Promise<boolean> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat === "" || / Z /.test(stat.slice(stat.lastIndexOf(")")));
}

function runDetached(args: string[], errLog: string): Promise<void> {
  const fd = openSync(errLog, "a");
  return new Promise<void>((resolve, reject) => {
    const child = spawn(RUNC, args, { stdio: ["ignore", "ignore", fd] });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`runc ${args.join(" ")}: exit ${code}`))));
  }).finally(() => closeSync(fd));
}

let env: RootEnv | undefined;
const rawIds = new Set<string>();
let rawRoot = "";

async function main() {
  const loadStart = load();
  env = await createRootEnv();
  const e = env;
  const { backend } = e;

  // Per-step wall times of the agent path (OciBackend.onStep; steps of parallel branches overlap, so they do not add
  // up to the total). Collected per start: the p50 of each step over all starts is printed.
  const steps = new Map<string, number[]>();
  let current: Map<string, number> | undefined;
  backend.onStep = (name, ms) => current?.set(name, (current.get(name) ?? 0) + ms);

  let spec: { linux: Record<string, unknown> } & Record<string, unknown> = { linux: {} };
  let rawDir = "";
  let errLog = "";
  const raw = async (id: string): Promise<{ start: number; stop: number }> => {
    const bundle = path.join(rawDir, id);
    await fs.mkdir(bundle, { recursive: true });
    await fs.writeFile(
      path.join(bundle, "config.json"),
      JSON.stringify({
        ...spec,
        hostname: id,
        linux: { ...spec.linux, cgroupsPath: `${backend.config.cgroupParent}/${id}` },
      }),
    );
    const pidFile = path.join(bundle, "pid");
    const t0 = performance.now();
    rawIds.add(id);
    await runDetached(["--root", rawRoot, "run", "-d", "--pid-file", pidFile, "--bundle", bundle, id], errLog);
    const pid = Number((await fs.readFile(pidFile, "utf8")).trim());
    await waitForExec(pid);
    const start = performance.now() - t0;
    const t1 = performance.now();
    await run(RUNC, ["--root", rawRoot, "kill", id, "KILL"]);
    while (!(await gone(pid))) await sleep(2);
    await run(RUNC, ["--root", rawRoot, "delete", id]);
    rawIds.delete(id);
    await fs.rm(bundle, { recursive: true, force: true });
    return { start, stop: performance.now() - t1 };
  };
  const berth = async (id: string): Promise<{ start: number; stop: number }> => {
    current = new Map();
    const t0 = performance.now();
    await backend.create(e.container(id, { command: SLEEP }));
    await backend.start(id);
    const start = performance.now() - t0;
    for (const [name, ms] of current) steps.set(name, [...(steps.get(name) ?? []), ms]);
    current = undefined;
    const t1 = performance.now();
    await backend.stop(id, 0);
    await backend.delete(id);
    return { start, stop: performance.now() - t1 };
  };

  // Warm-up (not counted): pins the image and idmaps its layers for the team, as the first start on a node does.
  const w0 = performance.now();
  await berth("warm");
  const firstStart = performance.now() - w0;
  // The node-wide network policy chains exist from the first start on: the counts start after the warm-up (and its
  // pin and idmapped layers collected, as the agent's garbage collection does).
  await backend.collectRootfsGarbage({ pinGraceMs: 0 });
  const before = await hostCounts(backend, e.tmp);
  // The template: a created (never started) instance whose bundle, namespaces and rootfs the raw runs use.
  await backend.create(e.container("tmpl", { command: SLEEP }));
  spec = JSON.parse(await fs.readFile(path.join(backend.store.bundle("tmpl"), "config.json"), "utf8"));
  rawDir = path.join(e.tmp, "raw");
  rawRoot = path.join(rawDir, "runc");
  await fs.mkdir(rawRoot, { recursive: true, mode: 0o700 });
  errLog = path.join(rawDir, "stderr.log");
  await raw("rawwarm");
  steps.clear();

  const r = { raw: [] as number[], berth: [] as number[], rawStop: [] as number[], berthStop: [] as number[] };
  let failures = 0;
  const t = performance.now();
  for (let i = 0; i < STARTS; i++) {
    for (const [kind, fn] of [
      ["raw", raw],
      ["berth", berth],
    ] as const) {
      const id = `${kind}-${i}`;
      try {
        const s = await fn(id);
        r[kind].push(s.start);
        r[kind === "raw" ? "rawStop" : "berthStop"].push(s.stop);
      } catch (err) {
        failures++;
        note(`${id} failed: ${err instanceof Error ? err.message : String(err)}`);
        if (kind === "berth") await backend.delete(id).catch(() => undefined);
      }
    }
    if ((i + 1) % 50 === 0) note(`${i + 1}/${STARTS} (load ${load()})`);
  }
  const elapsed = (performance.now() - t) / 1000;
  await backend.delete("tmpl");
  const gc = await backend.collectRootfsGarbage({ pinGraceMs: 0 });
  const after = await hostCounts(backend, e.tmp);

  out(
    `\n## Start path: ${STARTS} sequential starts each (${elapsed.toFixed(0)} s), load average ${loadStart} at start, ${load()} at end\n\n`,
  );
  out("| path | start p50 (ms) | p95 | p99 | stop+delete p50 (ms) | failures |\n|---|---|---|---|---|---|\n");
  out(
    `| Berth OciBackend create+start (defaults) | ${f(pct(r.berth, 0.5))} | ${f(pct(r.berth, 0.95))} | ${f(pct(r.berth, 0.99))} | ${f(pct(r.berthStop, 0.5))} | ${failures} |\n`,
  );
  out(
    `| bare \`runc run -d\` of the same bundle | ${f(pct(r.raw, 0.5))} | ${f(pct(r.raw, 0.95))} | ${f(pct(r.raw, 0.99))} | ${f(pct(r.rawStop, 0.5))} | - |\n`,
  );
  out(
    `\nagent overhead p50: ${f(pct(r.berth, 0.5) - pct(r.raw, 0.5))} ms (target <= 100 ms); first start on the node (pin + idmapped layers): ${f(firstStart)} ms\n`,
  );
  out("\n| step of the agent path | p50 (ms) | p95 (ms) | mean (ms) |\n|---|---|---|---|\n");
  for (const [name, xs] of steps) {
    const mean = xs.reduce((x, y) => x + y, 0) / xs.length;
    out(`| ${name} | ${f(pct(xs, 0.5))} | ${f(pct(xs, 0.95))} | ${f(mean)} |\n`);
  }
  out("(namespaces + cni add run beside writable layer + overlay; network policy beside conmon + runc create)\n\n");
  out(
    `garbage collection after the run: ${gc.unpinned.length} pin(s) removed, ${gc.layerMounts} idmapped layer mount(s) removed\n`,
  );
  const diff = (Object.keys(before) as (keyof HostCounts)[]).filter((k) => before[k] !== after[k]);
  out(`host counts before: ${JSON.stringify(before)}\nhost counts after:  ${JSON.stringify(after)}\n`);
  out(diff.length === 0 ? "leaks: none (every count back at its start)\n" : `LEAKS: ${diff.join(", ")}\n`);
}

async function cleanup() {
  for (const id of rawIds) await run(RUNC, ["--root", rawRoot, "delete", "--force", id]).catch(() => undefined);
  const problems = (await env?.destroy()) ?? [];
  if (problems.length) note(`cleanup problems: ${problems.join("; ")}`);
}

main()
  .catch((err: unknown) => {
    note(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  })
  .finally(() => void cleanup());
