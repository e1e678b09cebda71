// `berth builds`, `builds:info`: what `git push` built, with the stored build output.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { Build, BuildDetail } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import {
  formatAge,
  formatDate,
  formatDuration,
  printFields,
  printJson,
  println,
  printTable,
  stripTerminal,
} from "../output.ts";
import { authedClient } from "../session.ts";
import { isResourceId } from "../names.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

const shortCommit = (sha: string) => sha.slice(0, 7) || "-";
const branch = (ref: string) => ref.replace(/^refs\/heads\//, "") || "-";

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Build[]>(`/apps/${seg(app)}/builds`);
  if (opts.json) return printJson(body);
  printTable(
    ["ID", "STATUS", "BRANCH", "COMMIT", "AGE", "DURATION"],
    body.map((b) => [
      b.id,
      b.status,
      branch(b.ref),
      shortCommit(b.commit),
      formatAge(b.createdAt),
      formatDuration(b.createdAt, b.finishedAt),
    ]),
    `No builds of ${app} yet; \`git push berth main\` starts one.`,
  );
}

async function info(id: string, opts: AppOpts): Promise<void> {
  if (!isResourceId(id)) throw usageError(`invalid build id ${JSON.stringify(id)}: see \`berth builds\``);
  const app = await resolveApp(opts.app);
  const { body: b } = await authedClient().get<BuildDetail>(`/apps/${seg(app)}/builds/${seg(id)}`);
  if (opts.json) return printJson(b);
  const fields: [string, string][] = [
    ["Build", b.id],
    ["Status", b.status],
    ["Branch", branch(b.ref)],
    ["Commit", b.commit || "-"],
    ["Image", b.image ?? "-"],
  ];
  if (b.error) fields.push(["Error", stripTerminal(b.error).replace(/\n/g, " ")]);
  fields.push(
    ["Started", `${formatDate(b.createdAt)} UTC`],
    [
      "Finished",
      b.finishedAt ? `${formatDate(b.finishedAt)} UTC (took ${formatDuration(b.createdAt, b.finishedAt)})` : "-",
    ],
  );
  printFields(fields);
  println();
  // Build output comes from the user's Dockerfile and tools: it must not be able to drive the terminal.
  const output = stripTerminal(b.output).replace(/\n+$/, "");
  println(output ? `Output:\n${output}` : "No output.");
}

/** Registers the builds topic. */
export function registerBuildCommands(program: Command): void {
  program
    .command("builds")
    .description("list an app's builds, newest first")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("builds:info")
    .description("show one build and its full output")
    .argument("<id>", "build id (see `berth builds`)")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(info);
}
