// `berth volumes:backup`, `volumes:backups`, `volumes:restore`: backups of an app's volumes, made on the volume's node
// as tar archives and kept in the platform's data dir (docs/volumes.md "Backups").
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { usageError } from "../errors.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";
import type { VolumeBackup } from "../api-types.ts";
import { formatBytes } from "./addon-backups.ts";

interface AppOpts {
  json?: boolean;
  app?: string;
}

const VOLUME_NAME = /^[a-z][a-z0-9-]{0,29}$/;
const BACKUP_ID = /^vb-[0-9a-f]{16}$/;
/** How long `volumes:backup` waits and `volumes:restore` may take. */
const WAIT_MS = 60 * 60 * 1000;

function checkName(raw: string): string {
  if (!VOLUME_NAME.test(raw))
    throw usageError(`invalid volume name ${JSON.stringify(raw)}: a lowercase letter, then letters, digits, dashes`);
  return raw;
}
function checkId(raw: string): string {
  if (!BACKUP_ID.test(raw)) throw usageError(`invalid backup id ${JSON.stringify(raw)}, like vb-0123456789abcdef`);
  return raw;
}

async function list(name: string, opts: AppOpts): Promise<void> {
  checkName(name);
  const app = await resolveApp(opts.app);
  const { body } = await authedClient().get<VolumeBackup[]>(`/apps/${seg(app)}/volumes/${seg(name)}/backups`);
  if (opts.json) return printJson(body);
  printTable(
    ["ID", "CREATED", "SIZE", "STATE"],
    body.map((b) => [
      b.id,
      formatDate(b.createdAt),
      b.state === "completed" ? formatBytes(b.sizeBytes) : "-",
      b.state === "failed" && b.error ? `failed (${b.error})` : b.state,
    ]),
    `${name} has no backups yet; make one with \`berth volumes:backup ${name} -a ${app}\`.`,
  );
}

async function backup(name: string, opts: AppOpts & { wait?: boolean }): Promise<void> {
  checkName(name);
  const app = await resolveApp(opts.app);
  const client = authedClient();
  const { body } = await client.post<VolumeBackup>(`/apps/${seg(app)}/volumes/${seg(name)}/backups`);
  if (opts.wait === false) {
    if (opts.json) return printJson(body);
    println(`Backing ${name} up as ${body.id}; see \`berth volumes:backups ${name} -a ${app}\`.`);
    return;
  }
  if (!opts.json) println(`Backing ${name} up as ${body.id} (its instances are frozen while the archive is read)...`);
  const deadline = Date.now() + WAIT_MS;
  let current = body;
  while (current.state === "capturing") {
    if (Date.now() > deadline)
      throw new Error(`${body.id} is still capturing; see \`berth volumes:backups ${name} -a ${app}\``);
    await new Promise((r) => setTimeout(r, 500));
    current = (await client.get<VolumeBackup>(`/apps/${seg(app)}/volume-backups/${seg(body.id)}`)).body;
  }
  if (opts.json) return printJson(current);
  if (current.state !== "completed") throw new Error(`${body.id} failed: ${current.error ?? current.state}`);
  println(`${current.id} of ${name} is complete (${formatBytes(current.sizeBytes)}).`);
}

async function restore(id: string, opts: AppOpts & { confirm?: string }): Promise<void> {
  checkId(id);
  const app = await resolveApp(opts.app);
  if (opts.confirm !== app)
    throw usageError(`refusing to restore ${id}: this replaces the volume's files; pass --confirm ${app} to proceed`);
  const { body } = await authedClient().post<VolumeBackup>(
    `/apps/${seg(app)}/volume-backups/${seg(id)}/restore`,
    { confirm: app },
    { timeoutMs: WAIT_MS },
  );
  if (opts.json) return printJson(body);
  println(
    `Restored volume ${body.volume} of ${app} from ${body.id} (made ${formatDate(body.createdAt)}); ` +
      `its instances are starting again.`,
  );
}

/** Registers volumes:backup, volumes:backups and volumes:restore. */
export function registerVolumeBackupCommands(program: Command): void {
  const appOpt = ["-a, --app <app>", "app name (default: from git remote `berth`)"] as const;
  program
    .command("volumes:backup")
    .description(
      "back a volume up now: a tar archive made on its node, its instances frozen meanwhile (members and up)",
    )
    .argument("<name>", "volume name")
    .option("--no-wait", "return at once instead of waiting until it is complete")
    .option(...appOpt)
    .action(backup);
  program
    .command("volumes:backups")
    .description("list a volume's backups (id, created, size, state)")
    .argument("<name>", "volume name")
    .option(...appOpt)
    .action(list);
  program
    .command("volumes:restore")
    .description("replace a volume's files with a backup; its instances are stopped and started again (members and up)")
    .argument("<id>", "backup id, like vb-0123456789abcdef")
    .option("--confirm <app>", "the app's name, to confirm")
    .option(...appOpt)
    .action(restore);
}
