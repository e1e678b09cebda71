// `berth formation`, `berth limits`, `ps:scale`, `limits:set`: how many instances of each process type run, with
// what limits, and what placement counts for them (the requests).
// Changing the formation never builds or releases; the scheduler converges to it.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { printJson, println, printTable } from "../output.ts";
import { currentInstanceIds, WAIT_HELP } from "../rollout-wait.ts";
import { authedClient } from "../session.ts";
import { finishWait } from "./wait-output.ts";

interface FormationEntry {
  type: string;
  quantity: number;
  memoryMb: number;
  cpu: number;
  diskMb?: number;
  bandwidthMbit?: number;
  memoryRequestMb?: number;
  cpuRequest?: number;
}

interface FormationUpdate {
  type: string;
  quantity?: number;
  memoryMb?: number;
  cpu?: number;
  diskMb?: number;
  bandwidthMbit?: number;
  /** null: back to the default (the memory limit). */
  memoryRequestMb?: number | null;
  /** null: back to the default (0.1). */
  cpuRequest?: number | null;
}

interface AppOpts {
  json?: boolean;
  app?: string;
  wait?: boolean;
}

const TYPE = /^[a-z][a-z0-9_-]{0,29}$/;

function checkType(type: string): string {
  if (!TYPE.test(type)) throw usageError(`invalid process type ${JSON.stringify(type)}`);
  return type;
}

/** Parses `TYPE=N` arguments (`web=3`, `worker=0`); a usage error for anything else or a type given twice. */
export function parseScale(args: readonly string[]): FormationUpdate[] {
  const out: FormationUpdate[] = [];
  for (const arg of args) {
    const m = /^([^=]+)=([0-9]{1,4})$/.exec(arg);
    if (!m?.[1] || !m[2] || !TYPE.test(m[1]))
      throw usageError(`expected TYPE=N (like web=3), got ${JSON.stringify(arg)}`);
    if (out.some((u) => u.type === m[1])) throw usageError(`${m[1]} is given more than once`);
    out.push({ type: m[1], quantity: Number(m[2]) });
  }
  return out;
}

/** Parses a memory size like `256M`, `1G`, `1.5G` or `512` (megabytes) into whole megabytes. */
export function parseMemory(raw: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([mg])?b?$/i.exec(raw.trim());
  if (!m?.[1]) throw usageError(`invalid memory ${JSON.stringify(raw)}: use a size like 256M or 1G`);
  const mb = Number(m[1]) * ((m[2] ?? "m").toLowerCase() === "g" ? 1024 : 1);
  if (!Number.isInteger(mb))
    throw usageError(`invalid memory ${JSON.stringify(raw)}: must be a whole number of megabytes`);
  return mb;
}

/** Parses a disk size like `512M`, `2G` or `1024` (megabytes) into whole megabytes (MiB), as for memory. */
export function parseDisk(raw: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([mgt])?b?$/i.exec(raw.trim());
  if (!m?.[1]) throw usageError(`invalid disk size ${JSON.stringify(raw)}: use a size like 512M or 2G`);
  const unit = (m[2] ?? "m").toLowerCase();
  const mb = Number(m[1]) * (unit === "t" ? 1024 * 1024 : unit === "g" ? 1024 : 1);
  if (!Number.isInteger(mb))
    throw usageError(`invalid disk size ${JSON.stringify(raw)}: must be a whole number of megabytes`);
  return mb;
}

/**
 * Parses a bandwidth like `50M`, `50Mbit`, `1G` or `100` (megabits per second; network units are decimal bits, so
 * `1G` is 1000 Mbit/s) into whole Mbit/s.
 */
export function parseBandwidth(raw: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(?:([mg])(?:bit|bps)?(?:\/s)?)?$/i.exec(raw.trim());
  if (!m?.[1]) throw usageError(`invalid bandwidth ${JSON.stringify(raw)}: use megabits per second like 50M or 1G`);
  const mbit = Number(m[1]) * ((m[2] ?? "m").toLowerCase() === "g" ? 1000 : 1);
  if (!Number.isInteger(mbit))
    throw usageError(`invalid bandwidth ${JSON.stringify(raw)}: must be a whole number of megabits per second`);
  return mbit;
}

/** Parses a CPU share like `0.5` or `2` (cores). */
export function parseCpu(raw: string): number {
  if (!/^[0-9]+(?:\.[0-9]+)?$/.test(raw.trim()))
    throw usageError(`invalid cpu ${JSON.stringify(raw)}: use a number of cores like 0.5 or 2`);
  return Number(raw);
}

/** `default` (back to the default request), else what `parse` makes of it. */
function parseRequest(raw: string, parse: (raw: string) => number): number | null {
  return raw.trim().toLowerCase() === "default" ? null : parse(raw);
}

function show(formation: FormationEntry[], app: string): void {
  printTable(
    ["TYPE", "QUANTITY", "MEMORY", "CPU", "DISK", "BANDWIDTH"],
    formation.map((f) => [
      f.type,
      String(f.quantity),
      `${f.memoryMb}M`,
      String(f.cpu),
      f.diskMb === undefined ? "-" : `${f.diskMb}M`,
      f.bandwidthMbit === undefined ? "-" : `${f.bandwidthMbit}Mbit/s`,
    ]),
    `${app} has no process types yet; deploy it first.`,
  );
}

/** Limits beside requests: what each instance may use (cgroup) and what placement counts for it on a node. */
function showLimits(formation: FormationEntry[], app: string): void {
  printTable(
    ["TYPE", "MEMORY", "MEMORY REQUEST", "CPU", "CPU REQUEST", "DISK", "BANDWIDTH"],
    formation.map((f) => [
      f.type,
      `${f.memoryMb}M`,
      f.memoryRequestMb === undefined ? "-" : `${f.memoryRequestMb}M`,
      String(f.cpu),
      f.cpuRequest === undefined ? "-" : String(f.cpuRequest),
      f.diskMb === undefined ? "-" : `${f.diskMb}M`,
      f.bandwidthMbit === undefined ? "-" : `${f.bandwidthMbit}Mbit/s`,
    ]),
    `${app} has no process types yet; deploy it first.`,
  );
}

async function listLimits(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<FormationEntry[]>(`/apps/${seg(app)}/formation`);
  if (opts.json) return printJson(body);
  showLimits(body, app);
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<FormationEntry[]>(`/apps/${seg(app)}/formation`);
  if (opts.json) return printJson(body);
  show(body, app);
}

async function change(app: string, updates: FormationUpdate[], opts: AppOpts): Promise<void> {
  const api = authedClient();
  const known = opts.wait ? await currentInstanceIds(api, app) : null;
  const { body } = await api.patch<FormationEntry[]>(`/apps/${seg(app)}/formation`, { updates });
  if (opts.json) printJson(body);
  else {
    println(`Formation of ${app} changed:`);
    show(body, app);
  }
  if (known) await finishWait(api, app, { kind: "settled", known }, opts.json);
}

interface LimitFlags {
  memory?: string;
  cpu?: string;
  disk?: string;
  bandwidth?: string;
  memoryRequest?: string;
  cpuRequest?: string;
}

/** Registers the formation commands. */
export function registerPsCommands(program: Command): void {
  program
    .command("formation")
    .description("show an app's process types with their quantity, memory, CPU, disk and bandwidth")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("limits")
    .description("show each process type's limits (memory, CPU, disk, bandwidth) beside its requests (memory, CPU)")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(listLimits);
  program
    .command("ps:scale")
    .description("set how many instances of each process type run (one change, no release)")
    .argument("<scale...>", "TYPE=N pairs, like web=3 worker=1")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--wait", WAIT_HELP)
    .action(async (pairs: string[], opts: AppOpts) => {
      const updates = parseScale(pairs);
      await change(await resolveApp(opts.app), updates, opts);
    });
  program
    .command("limits:set")
    .description("set limits (memory, CPU, disk, bandwidth) and requests (memory, CPU) of a process type (no release)")
    .argument("<type>", "process type, like web")
    .option("--memory <size>", "memory limit, like 256M or 1G")
    .option("--cpu <cores>", "CPU limit in cores, like 0.5")
    .option(
      "--memory-request <size>",
      "memory placement counts per instance, at most the limit, or `default` (= the limit)",
    )
    .option("--cpu-request <cores>", "CPU placement counts per instance, at most the limit, or `default` (0.1)")
    .option("--disk <size>", "size of each instance's writable layer, like 512M or 2G")
    .option("--bandwidth <rate>", "network bandwidth of each instance, each way, in Mbit/s, like 50M or 1G")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(async (type: string, opts: AppOpts & LimitFlags) => {
      const update: FormationUpdate = { type: checkType(type) };
      if (opts.memory !== undefined) update.memoryMb = parseMemory(opts.memory);
      if (opts.cpu !== undefined) update.cpu = parseCpu(opts.cpu);
      if (opts.disk !== undefined) update.diskMb = parseDisk(opts.disk);
      if (opts.bandwidth !== undefined) update.bandwidthMbit = parseBandwidth(opts.bandwidth);
      if (opts.memoryRequest !== undefined) update.memoryRequestMb = parseRequest(opts.memoryRequest, parseMemory);
      if (opts.cpuRequest !== undefined) update.cpuRequest = parseRequest(opts.cpuRequest, parseCpu);
      if (Object.keys(update).length === 1)
        throw usageError("give --memory, --cpu, --disk, --bandwidth, --memory-request or --cpu-request");
      await change(await resolveApp(opts.app), [update], { ...opts, wait: false });
    });
}
