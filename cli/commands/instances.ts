// `berth ps`, `ps:restart`, `rollback`: what runs, rolling restarts, and going back to an earlier release.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { Release } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatAge, printJson, println, printTable } from "../output.ts";
import { currentInstanceIds, WAIT_HELP } from "../rollout-wait.ts";
import { authedClient } from "../session.ts";
import { parseVersion } from "./releases.ts";
import { finishWait } from "./wait-output.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
  wait?: boolean;
}

/** One instance as the API returns it. */
export interface InstanceView {
  id: string;
  processType: string;
  state: string;
  release: number;
  node: { id: string; name: string } | null;
  restarts: number;
  exitCode: number | null;
  reason: string | null;
  startedAt: string | null;
  createdAt: string;
}

const TARGET = /^[a-z0-9][a-z0-9_-]{0,62}$/;

// The agent's exit reasons as people read them; the same labels as the dashboard's (lib/exit-reason.ts: the CLI
// bundle imports nothing outside cli/).
const REASON_LABELS: Record<string, string> = {
  "oom-killed": "OOM killed",
  "health-check-failed": "health check failed",
  "start-failed": "failed to start",
  "not-desired": "stopped",
};

/** The LAST EXIT column: `137 (OOM killed)`, `0`, or `-`. */
export function lastExit(i: Pick<InstanceView, "exitCode" | "reason">): string {
  const reason = i.reason === null ? null : (REASON_LABELS[i.reason] ?? i.reason);
  if (i.exitCode === null) return reason ?? "-";
  return reason ? `${i.exitCode} (${reason})` : String(i.exitCode);
}

async function ps(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<InstanceView[]>(`/apps/${seg(app)}/instances`);
  if (opts.json) return printJson(body);
  printTable(
    ["INSTANCE", "TYPE", "STATE", "RELEASE", "NODE", "UPTIME", "RESTARTS", "LAST EXIT"],
    body.map((i) => [
      i.id,
      i.processType,
      i.state,
      `v${i.release}`,
      i.node?.name ?? "-",
      i.state === "running" && i.startedAt ? formatAge(i.startedAt) : "-",
      String(i.restarts),
      lastExit(i),
    ]),
    `${app} runs no instances; scale it with \`berth ps:scale web=1 -a ${app}\`.`,
  );
}

/** Registers ps, ps:restart and rollback. */
export function registerInstanceCommands(program: Command): void {
  program
    .command("ps")
    .description("show an app's instances: state, release, node, uptime, restarts, last exit code and reason")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(ps);
  program
    .command("ps:restart")
    .description(
      "rolling restart: replace instances (all, one process type, or one instance) one healthy step at a time",
    )
    .argument("[target]", "process type (web) or instance id")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--wait", WAIT_HELP)
    .action(async (target: string | undefined, opts: AppOpts) => {
      if (target !== undefined && !TARGET.test(target))
        throw usageError(`invalid process type or instance ${JSON.stringify(target)}`);
      const app = await resolveApp(opts.app);
      const api = authedClient();
      const known = opts.wait ? await currentInstanceIds(api, app) : null;
      const { body } = await api.post<{ restarting: number }>(`/apps/${seg(app)}/restart`, target ? { target } : {});
      if (opts.json) printJson(body);
      else
        println(
          `Restarting ${body.restarting} instance${body.restarting === 1 ? "" : "s"} of ${app}${target ? ` (${target})` : ""}`,
        );
      if (known) await finishWait(api, app, { kind: "settled", known }, opts.json);
    });
  program
    .command("rollback")
    .description("release an earlier version's image and config again (default: the one before the running release)")
    .argument("[version]", "release to go back to, like v3")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--wait", WAIT_HELP)
    .action(async (version: string | undefined, opts: AppOpts) => {
      const v = version === undefined ? undefined : parseVersion(version);
      const app = await resolveApp(opts.app);
      const api = authedClient();
      const { body } = await api.post<Release>(`/apps/${seg(app)}/releases/rollback`, v ? { version: v } : {});
      if (opts.json) printJson(body);
      else if (opts.wait) println(`${body.description}: released ${body.name}; rolling it out`);
      else
        println(
          `${body.description}: released ${body.name}; it rolls out now (follow with \`berth ps -a ${app}\` or --wait)`,
        );
      if (opts.wait) await finishWait(api, app, { kind: "release", version: body.version }, opts.json);
    });
}
