// `berth addons:backups`, `addons:backups:capture`, `addons:backups:download`, `addons:backups:restore`: backups of
// an app's add-ons (docs/addons.md "Backups"). Downloads stream straight into a new 0600 file.
import fs from "node:fs";
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";

interface Backup {
  id: string;
  addon: string;
  state: string;
  origin: string;
  sizeBytes: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface AppOpts {
  json?: boolean;
  app?: string;
}

const ADDON_NAME = /^[a-z][a-z0-9-]{1,29}$/;
const BACKUP_ID = /^bk-[0-9a-f]{16}$/;
/** How long `capture` waits and `restore` may take. */
const WAIT_MS = 60 * 60 * 1000;

function checkAddon(raw: string): string {
  if (!ADDON_NAME.test(raw)) throw usageError(`invalid add-on name ${JSON.stringify(raw)}, like postgres-1a2b3c4d`);
  return raw;
}
function checkId(raw: string): string {
  if (!BACKUP_ID.test(raw)) throw usageError(`invalid backup id ${JSON.stringify(raw)}, like bk-0123456789abcdef`);
  return raw;
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

async function list(addon: string, opts: AppOpts): Promise<void> {
  checkAddon(addon);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<Backup[]>(`/apps/${seg(app)}/addons/${seg(addon)}/backups`);
  if (opts.json) return printJson(body);
  printTable(
    ["ID", "CREATED", "SIZE", "STATE", "ORIGIN"],
    body.map((b) => [
      b.id,
      formatDate(b.createdAt),
      b.state === "completed" ? formatBytes(b.sizeBytes) : "-",
      b.state === "failed" && b.error ? `failed (${b.error})` : b.state,
      b.origin,
    ]),
    `${addon} has no backups yet; capture one with \`berth addons:backups:capture ${addon} -a ${app}\`.`,
  );
}

async function capture(addon: string, opts: AppOpts & { wait?: boolean }): Promise<void> {
  checkAddon(addon);
  const app = await resolveApp(opts.app);
  const client = authedClient();
  const { body } = await client.post<Backup>(`/apps/${seg(app)}/addons/${seg(addon)}/backups`);
  if (opts.wait === false) {
    if (opts.json) return printJson(body);
    println(`Capturing ${body.id} of ${addon}; see \`berth addons:backups ${addon} -a ${app}\`.`);
    return;
  }
  if (!opts.json) println(`Capturing ${body.id} of ${addon}...`);
  const deadline = Date.now() + WAIT_MS;
  let current = body;
  while (current.state === "capturing") {
    if (Date.now() > deadline)
      throw new Error(`${body.id} is still capturing; see \`berth addons:backups ${addon} -a ${app}\``);
    await new Promise((r) => setTimeout(r, 500));
    current = (await client.get<Backup>(`/apps/${seg(app)}/addon-backups/${seg(body.id)}`)).body;
  }
  if (opts.json) return printJson(current);
  if (current.state !== "completed") throw new Error(`${body.id} failed: ${current.error ?? current.state}`);
  println(`${current.id} of ${addon} is complete (${formatBytes(current.sizeBytes)}).`);
}

async function download(id: string, opts: AppOpts & { output?: string }): Promise<void> {
  checkId(id);
  const app = await resolveApp(opts.app);
  const client = authedClient();
  // The default name is ours (the server's suggestion is only used when it has the expected shape).
  const info = (await client.get<Backup>(`/apps/${seg(app)}/addon-backups/${seg(id)}`)).body;
  const file = opts.output ?? `${info.addon}-${id}.${info.addon.startsWith("redis") ? "rdb" : "pgdump"}`;
  // A new file only readable by you: a backup holds all of the add-on's data.
  const out = fs.createWriteStream(file, { flags: "wx", mode: 0o600 });
  await new Promise<void>((res, rej) => {
    out.once("open", () => res());
    out.once("error", (err) =>
      rej(usageError(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
    );
  });
  try {
    const r = await client.download(`/apps/${seg(app)}/addon-backups/${seg(id)}/download`, out);
    if (opts.json) return printJson({ id, file, bytes: r.bytes });
    println(`Downloaded ${id} to ${file} (${formatBytes(r.bytes)}).`);
  } catch (err) {
    out.destroy();
    fs.rmSync(file, { force: true });
    throw err;
  }
}

async function restore(id: string, opts: AppOpts & { confirm?: string }): Promise<void> {
  checkId(id);
  const app = await resolveApp(opts.app);
  if (opts.confirm !== app)
    throw usageError(`refusing to restore ${id}: this replaces the add-on's data; pass --confirm ${app} to proceed`);
  const { body } = await authedClient().post<Backup>(
    `/apps/${seg(app)}/addon-backups/${seg(id)}/restore`,
    { confirm: app },
    { timeoutMs: WAIT_MS },
  );
  if (opts.json) return printJson(body);
  println(`Restored ${body.addon} of ${app} from ${body.id} (captured ${formatDate(body.createdAt)}).`);
}

/** Registers the addons:backups topic. */
export function registerAddonBackupCommands(program: Command): void {
  const appOpt = ["-a, --app <app>", "app name (default: from git remote `berth`)"] as const;
  program
    .command("addons:backups")
    .description("list an add-on's backups (id, created, size, state)")
    .argument("<addon>", "add-on name, like postgres-1a2b3c4d")
    .option(...appOpt)
    .action(list);
  program
    .command("addons:backups:capture")
    .description("capture a backup of an add-on now: pg_dump or a Redis snapshot (members and up)")
    .argument("<addon>", "add-on name")
    .option("--no-wait", "return at once instead of waiting until it is complete")
    .option(...appOpt)
    .action(capture);
  program
    .command("addons:backups:download")
    .description("download a backup into a new file readable only by you (members and up)")
    .argument("<id>", "backup id, like bk-0123456789abcdef")
    .option("-o, --output <file>", "file to write (default: ADDON-ID.pgdump or .rdb here); must not exist")
    .option(...appOpt)
    .action(download);
  program
    .command("addons:backups:restore")
    .description("replace an add-on's data with a backup (members and up)")
    .argument("<id>", "backup id")
    .option("--confirm <app>", "the app's name, to confirm")
    .option(...appOpt)
    .action(restore);
}
