// `berth config`, `config:set`, `config:unset`: an app's environment. Each change is one release.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { note, printJson, println, printTable } from "../output.ts";
import { WAIT_HELP } from "../rollout-wait.ts";
import { authedClient } from "../session.ts";
import { finishWait } from "./wait-output.ts";
import type { ConfigVar } from "../api-types.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
  wait?: boolean;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits `KEY=value` arguments (the value may contain `=`); a usage error for anything else. */
export function parseAssignments(args: readonly string[]): Record<string, string> {
  // No prototype: every valid name, `constructor` and `__proto__` included, becomes an own key that is sent as typed.
  const out = Object.create(null) as Record<string, string>;
  for (const arg of args) {
    const i = arg.indexOf("=");
    const key = i > 0 ? arg.slice(0, i) : "";
    if (!KEY.test(key)) throw usageError(`expected KEY=value, got ${JSON.stringify(arg)}`);
    out[key] = arg.slice(i + 1);
  }
  return out;
}

function show(vars: ConfigVar[], app: string): void {
  printTable(
    ["KEY", "VALUE", "BUILD"],
    vars.map((v) => [v.key, v.value, v.buildTime ? "yes" : ""]),
    `${app} has no config vars; set some with \`berth config:set KEY=value -a ${app}\`.`,
  );
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<ConfigVar[]>(`/apps/${seg(app)}/config`);
  if (opts.json) return printJson(body);
  show(body, app);
}

async function change(app: string, body: object, opts: AppOpts): Promise<void> {
  const api = authedClient();
  const { body: r } = await api.patch<{ config: ConfigVar[]; release: number | null }>(
    `/apps/${seg(app)}/config`,
    body,
  );
  if (opts.json) printJson(r);
  else
    println(
      r.release
        ? `Config changed; released v${r.release} of ${app}.`
        : `Config changed for ${app} (it has no release yet).`,
    );
  if (!opts.wait) return;
  if (r.release === null) return note(`${app} has no release yet: nothing to roll out.`);
  await finishWait(api, app, { kind: "release", version: r.release }, opts.json);
}

/** Registers the config topic. */
export function registerConfigCommands(program: Command): void {
  program
    .command("config")
    .description("show an app's config vars (secret-looking values are masked for viewers)")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("config:set")
    .description("set config vars in one change (one release)")
    .argument("<assignments...>", "KEY=value pairs")
    .option("--build-time", "also pass these vars to builds as build arguments")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--wait", WAIT_HELP)
    .action(async (assignments: string[], opts: AppOpts & { buildTime?: boolean }) => {
      const set = parseAssignments(assignments);
      await change(await resolveApp(opts.app), { set, buildTime: opts.buildTime ? Object.keys(set) : [] }, opts);
    });
  program
    .command("config:unset")
    .description("remove config vars in one change (one release)")
    .argument("<keys...>", "names of the vars to remove")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--wait", WAIT_HELP)
    .action(async (keys: string[], opts: AppOpts) => {
      const bad = keys.filter((k) => !KEY.test(k));
      if (bad.length) throw usageError(`invalid config var name ${JSON.stringify(bad[0])}`);
      await change(await resolveApp(opts.app), { unset: keys }, opts);
    });
}
