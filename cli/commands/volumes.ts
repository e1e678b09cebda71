// `berth volumes`, `volumes:create`, `volumes:info`, `volumes:destroy`: persistent volumes mounted into every instance
// of one process type (docs/volumes.md).
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";
import { parseDisk } from "./ps.ts";
import type { Volume, VolumeInfo } from "../api-types.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

const VOLUME_NAME = /^[a-z][a-z0-9-]{0,29}$/;

/** A volume name as the server accepts it; checked here so typos fail before a request. */
function checkName(raw: string): string {
  if (!VOLUME_NAME.test(raw))
    throw usageError(`invalid volume name ${JSON.stringify(raw)}: a lowercase letter, then letters, digits, dashes`);
  return raw;
}

/** `1024` MiB as `1G`, `512` as `512M`. */
export function formatSizeMb(mb: number): string {
  return mb % (1024 * 1024) === 0 ? `${mb / 1024 / 1024}T` : mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

async function list(opts: AppOpts): Promise<void> {
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Volume[]>(`/apps/${seg(app)}/volumes`);
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "TYPE", "MOUNT", "SIZE", "NODE", "CREATED"],
    body.map((v) => [
      v.name,
      v.processType,
      v.mountPath,
      formatSizeMb(v.sizeMb),
      v.node ?? "-",
      formatDate(v.createdAt),
    ]),
    `${app} has no volumes; create one with \`berth volumes:create NAME --size 1G --mount /data -a ${app}\`.`,
  );
}

async function create(name: string, opts: AppOpts & { size?: string; mount?: string; type?: string }): Promise<void> {
  checkName(name);
  if (!opts.size) throw usageError("give the volume's size, like --size 1G");
  if (!opts.mount) throw usageError("give where it is mounted in the container, like --mount /data");
  const sizeMb = parseDisk(opts.size);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().post<Volume>(`/apps/${seg(app)}/volumes`, {
    name,
    processType: opts.type ?? "web",
    mountPath: opts.mount,
    sizeMb,
  });
  if (opts.json) return printJson(body);
  println(
    `Created volume ${body.name} (${formatSizeMb(body.sizeMb)}) at ${body.mountPath} of ${app}'s ${body.processType}.`,
  );
  println(
    `Its ${body.processType} instances are replaced stop-then-start to mount it, and run only on the volume's node` +
      (body.node ? ` (${body.node}).` : " (chosen when the first one starts)."),
  );
}

async function info(name: string, opts: AppOpts): Promise<void> {
  checkName(name);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<VolumeInfo>(`/apps/${seg(app)}/volumes/${seg(name)}`);
  if (opts.json) return printJson(body);
  const used = body.usedBytes === null ? "unknown" : `${(body.usedBytes / 1024 / 1024).toFixed(1)} MiB`;
  println(`=== ${body.name} (${app})`);
  println(`Type:      ${body.processType}`);
  println(`Mount:     ${body.mountPath}`);
  println(`Size:      ${formatSizeMb(body.sizeMb)} (used: ${used})`);
  println(`Node:      ${body.node ?? "- (not placed yet)"}`);
  println(`Instances: ${body.instances.length ? body.instances.join(", ") : "none"}`);
  println(`Created:   ${formatDate(body.createdAt)}`);
}

async function destroy(name: string, opts: AppOpts & { confirm?: string }): Promise<void> {
  checkName(name);
  if (opts.confirm !== name) {
    throw usageError(`refusing to destroy volume ${name}: this deletes its data; pass --confirm ${name} to proceed`);
  }
  const app = await resolveApp(opts.app);
  await authedClient().delete(`/apps/${seg(app)}/volumes/${seg(name)}`);
  if (opts.json) return printJson({ app, volume: name, destroyed: true });
  println(`Destroyed volume ${name} of ${app} and its data.`);
}

/** Registers the volumes topic. */
export function registerVolumeCommands(program: Command): void {
  const appOpt = ["-a, --app <app>", "app name (default: from git remote `berth`)"] as const;
  program
    .command("volumes")
    .description("list an app's persistent volumes")
    .option(...appOpt)
    .action(list);
  program
    .command("volumes:create")
    .description("create a persistent volume mounted into every instance of a process type (admins and owners)")
    .argument("<name>", "volume name, like data")
    .option("--size <size>", "size limit, like 512M or 1G")
    .option("--mount <path>", "where it is mounted in the container, like /data")
    .option("--type <type>", "process type that mounts it", "web")
    .option(...appOpt)
    .action(create);
  program
    .command("volumes:info")
    .description("show a volume's size, usage, node and the instances that mount it")
    .argument("<name>", "volume name")
    .option(...appOpt)
    .action(info);
  program
    .command("volumes:destroy")
    .description("destroy a volume and its data; scale its process type to 0 first (admins and owners)")
    .argument("<name>", "volume name")
    .option("--confirm <name>", "the volume name again, to confirm")
    .option(...appOpt)
    .action(destroy);
}
