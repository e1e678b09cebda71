// `berth stats`: current CPU, memory, network and pids of every instance of an app (the newest point of each).
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { printJson, printTable } from "../output.ts";
import { authedClient } from "../session.ts";
import type { AppStats, StatsPoint } from "../api-types.ts";
export type { AppStats, StatsPoint };

/** The newest point of an instance, flattened with its id and type. */
export type CurrentStats = { instanceId: string; processType: string } & StatsPoint;

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Bytes in binary units with at most one decimal: `0 B`, `1.5 KiB`, `64 MiB`. */
export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return `${text} ${UNITS[unit]}`;
}

/** The newest point of every instance that has one. */
export function currentStats(stats: AppStats): CurrentStats[] {
  return stats.instances.flatMap((i) => {
    const last = i.points.at(-1);
    return last ? [{ instanceId: i.instanceId, processType: i.processType, ...last }] : [];
  });
}

/** Table rows: instance, type, CPU %, memory used / limit, net rx / tx, pids. */
export function statsRows(current: readonly CurrentStats[]): string[][] {
  return current.map((c) => [
    c.instanceId,
    c.processType,
    c.cpuPercent === null ? "-" : `${c.cpuPercent.toFixed(1)}%`,
    `${formatBytes(c.memoryBytes)} / ${c.memoryLimitBytes > 0 ? formatBytes(c.memoryLimitBytes) : "no limit"}`,
    `${formatBytes(c.netRxBytes)} / ${formatBytes(c.netTxBytes)}`,
    String(c.pids),
  ]);
}

/** Registers `berth stats`. */
export function registerStatsCommands(program: Command): void {
  program
    .command("stats")
    .description("show current CPU, memory, network and pids of an app's instances")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(async (opts: { app?: string; json?: boolean }) => {
      const app = await resolveApp(opts.app);
      const { body } = await authedClient().get<AppStats>(`/apps/${seg(app)}/stats`);
      const current = currentStats(body);
      if (opts.json) return printJson(current);
      printTable(
        ["INSTANCE", "TYPE", "CPU", "MEMORY", "NET RX / TX", "PIDS"],
        statsRows(current),
        `No stats for ${app}: no instance reported in the last hour.`,
      );
    });
}
