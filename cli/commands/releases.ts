// `berth releases`, `releases:info`, `deploy`: the numbered releases of an app, and releasing an existing image.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import type { Release } from "../api-types.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import {
  formatAge,
  formatDate,
  formatTable,
  note,
  printFields,
  printJson,
  println,
  printTable,
  truncate,
} from "../output.ts";
import { authedClient } from "../session.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

/** The server copies the image into its registry (up to 10 minutes) before answering; wait a little longer. */
const DEPLOY_TIMEOUT_MS = 11 * 60 * 1000;

/** `v12` or `12` as a release number, checked like the API does (a usage error otherwise). */
export function parseVersion(raw: string): number {
  const m = /^v?([1-9][0-9]{0,8})$/.exec(raw.trim());
  if (!m?.[1]) throw usageError(`invalid release ${JSON.stringify(raw)}: releases look like v12`);
  return Number(m[1]);
}

/** The `sha256:...` part of an image reference, or null. */
function digestOf(image: string): string | null {
  const i = image.indexOf("@");
  return i < 0 ? null : image.slice(i + 1);
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Release[]>(`/apps/${seg(app)}/releases`);
  if (opts.json) return printJson(body);
  printTable(
    ["VERSION", "STATUS", "DESCRIPTION", "CREATED BY", "AGE"],
    body.map((r) => [r.name, r.status, truncate(r.description, 64), r.createdBy ?? "-", formatAge(r.createdAt)]),
    `No releases of ${app} yet; deploy with \`git push berth main\` or \`berth deploy --image REF -a ${app}\`.`,
  );
}

async function info(version: string, opts: AppOpts): Promise<void> {
  const n = parseVersion(version);
  const app = await resolveApp(opts.app);
  const { body: r } = await authedClient().get<Release>(`/apps/${seg(app)}/releases/v${n}`);
  if (opts.json) return printJson(r);
  const fields: [string, string][] = [
    ["Release", r.name],
    ["Status", r.status],
  ];
  if (r.failReason) fields.push(["Failure", r.failReason]);
  fields.push(
    ["Description", r.description],
    ["Image", r.image],
    ["Build", r.buildId ?? "-"],
    ["Created by", r.createdBy ?? "-"],
    ["Created", `${formatDate(r.createdAt)} UTC (${formatAge(r.createdAt)} ago)`],
    ["Config keys", r.configKeys.length ? r.configKeys.join(", ") : "-"],
  );
  printFields(fields);
  const types = Object.entries(r.processTypes);
  println();
  println(
    types.length
      ? formatTable(
          ["TYPE", "COMMAND"],
          types.map(([type, cmd]) => [type, cmd || "(the image's CMD/ENTRYPOINT)"]),
        )
      : "No process types.",
  );
}

async function deploy(opts: AppOpts & { image: string }): Promise<void> {
  const app = await resolveApp(opts.app);
  // The image reference is checked by the server (one grammar, one error message for every client).
  if (process.stderr.isTTY) note(`Deploying ${opts.image} to ${app} (copying the image into the platform registry)...`);
  const { body: r } = await authedClient().post<Release>(
    `/apps/${seg(app)}/releases`,
    { image: opts.image },
    { timeoutMs: DEPLOY_TIMEOUT_MS },
  );
  if (opts.json) return printJson(r);
  println(`Released ${r.name} of ${app}.`);
  printFields([
    ["Image", r.image],
    ["Digest", digestOf(r.image) ?? "-"],
  ]);
}

/** Registers the releases topic and deploy. */
export function registerReleaseCommands(program: Command): void {
  program
    .command("releases")
    .description("list an app's releases, newest first")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(list);
  program
    .command("releases:info")
    .description("show one release: image, process types, config keys")
    .argument("<version>", "release, e.g. v3")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(info);
  program
    .command("deploy")
    .description("release an existing container image (copied into the platform registry)")
    .requiredOption("-i, --image <ref>", "image reference, e.g. registry.example.com/team/app:1.2 or APP@sha256:...")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .action(deploy);
}
