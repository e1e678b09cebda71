// `berth apps`, `apps:create`, `apps:info`, `apps:destroy`.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { App, AppDetail } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { checkName } from "../names.ts";
import { formatDate, formatTable, printFields, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";

interface JsonOpt {
  json?: boolean;
}

const release = (n: number | null) => (n === null ? "-" : `v${n}`);

async function list(opts: JsonOpt & { team?: string }): Promise<void> {
  const query = opts.team ? `?team=${seg(checkName("team", opts.team))}` : "";
  const { body } = await authedClient().get<App[]>(`/apps${query}`);
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "TEAM", "RELEASE", "WEB URL"],
    body.map((a) => [a.name, a.team, release(a.currentRelease), a.webUrl]),
    "No apps yet; create one with `berth apps:create NAME`.",
  );
}

async function create(name: string, opts: JsonOpt & { team?: string }): Promise<void> {
  const body: { name: string; team?: string } = { name: checkName("app", name) };
  if (opts.team) body.team = checkName("team", opts.team);
  const { body: app } = await authedClient().post<App>("/apps", body);
  if (opts.json) return printJson(app);
  println(`Created app ${app.name} in team ${app.team}.`);
  printFields([
    ["Web URL", app.webUrl],
    ["Git URL", app.gitUrl],
  ]);
  println();
  println(
    `In your app's git repository, run \`berth git:remote -a ${app.name}\`, then \`git push berth main\` to deploy.`,
  );
}

async function info(opts: JsonOpt & { app?: string }): Promise<void> {
  const name = await resolveApp(opts.app);
  const { body: app } = await authedClient().get<AppDetail>(`/apps/${seg(name)}`);
  if (opts.json) return printJson(app);
  printFields([
    ["Name", app.name],
    ["Team", app.team],
    ["Your role", app.role],
    ["Release", release(app.currentRelease)],
    ["Maintenance", app.maintenance ? "on" : "off"],
    ["Web URL", app.webUrl],
    ["Git URL", app.gitUrl],
    ["Created", formatDate(app.createdAt)],
  ]);
  if (app.formation.length) {
    println();
    println(
      formatTable(
        ["TYPE", "QUANTITY", "MEMORY", "CPU"],
        app.formation.map((f) => [f.type, String(f.quantity), `${f.memoryMb}M`, String(f.cpu)]),
      ),
    );
  }
}

async function destroy(opts: JsonOpt & { app?: string; confirm?: string }): Promise<void> {
  const name = await resolveApp(opts.app);
  // Destroying is irreversible: the user must type the name, so a wrong -a or git remote cannot do it silently.
  if (opts.confirm !== name) {
    throw usageError(
      `refusing to destroy ${name}: this deletes the app and its data; pass --confirm ${name} to proceed`,
    );
  }
  await authedClient().delete(`/apps/${seg(name)}`);
  if (opts.json) return printJson({ destroyed: name });
  println(`Destroyed app ${name}.`);
}

/** Registers the apps topic. */
export function registerAppCommands(program: Command): void {
  program
    .command("apps")
    .description("list your apps")
    .option("-t, --team <team>", "only this team's apps")
    .action(list);
  program
    .command("apps:create")
    .description("create an app (in your personal team unless --team)")
    .argument("<name>", "app name: lowercase letters, digits, dashes")
    .option("-t, --team <team>", "team that owns the app")
    .action(create);
  program
    .command("apps:info")
    .description("show an app, its URLs and formation")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(info);
  program
    .command("apps:destroy")
    .description("permanently delete an app")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--confirm <app>", "the app name again, to confirm")
    .action(destroy);
}
