// `berth deploy:settings`, `deploy:settings:set`: how rollouts replace instances (batch size) and how a web
// instance proves it started (TCP, or an HTTP path). Changing them never builds or releases.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { DeploySettings } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { printFields, printJson, println } from "../output.ts";
import { authedClient } from "../session.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

/** `--batch N`: a whole number (the server checks the range and says it). */
export function parseBatch(raw: string): number {
  if (!/^[0-9]{1,6}$/.test(raw.trim())) {
    throw usageError(`invalid batch ${JSON.stringify(raw)}: use a whole number, 0 for the whole formation at once`);
  }
  return Number(raw.trim());
}

function show(s: DeploySettings): void {
  printFields([
    [
      "Rollout batch",
      s.rolloutBatch === 0
        ? "0 (the whole new formation starts at once)"
        : `${s.rolloutBatch} (at most ${s.rolloutBatch} new instance(s) per process type starting at a time)`,
    ],
    [
      "Health check",
      s.healthCheckPath === null ? "TCP (web accepts connections on PORT)" : `HTTP GET ${s.healthCheckPath}`,
    ],
  ]);
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<DeploySettings>(`/apps/${seg(app)}/deploy-settings`);
  if (opts.json) return printJson(body);
  show(body);
}

async function set(opts: AppOpts & { batch?: string; healthPath?: string | false }): Promise<void> {
  const change: { rolloutBatch?: number; healthCheckPath?: string | null } = {};
  if (opts.batch !== undefined) change.rolloutBatch = parseBatch(opts.batch);
  // Commander gives false for --no-health-path, the path for --health-path, undefined for neither.
  if (opts.healthPath !== undefined) change.healthCheckPath = opts.healthPath === false ? null : opts.healthPath;
  if (Object.keys(change).length === 0) throw usageError("give --batch, --health-path or --no-health-path");
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().patch<DeploySettings>(`/apps/${seg(app)}/deploy-settings`, change);
  if (opts.json) return printJson(body);
  println(`Deploy settings of ${app} changed (no new release):`);
  show(body);
  if (change.healthCheckPath !== undefined) println("The health check applies to web instances started from now on.");
}

/** Registers the deploy settings commands. */
export function registerDeploySettingsCommands(program: Command): void {
  program
    .command("deploy:settings")
    .description("show how rollouts replace instances (batch size) and the web health check")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("deploy:settings:set")
    .description("change the rollout batch size and the web health check path (no release)")
    .option("--batch <n>", "new instances per process type starting at a time during rollouts; 0 = all at once")
    .option("--health-path <path>", "HTTP path web instances must answer (2xx/3xx) to count as started, like /healthz")
    .option("--no-health-path", "check web instances with a TCP connect to PORT only")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(set);
}
