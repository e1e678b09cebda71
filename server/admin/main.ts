// `berth-admin`: operator commands that work on the data dir of this machine, not through the API (they need the
// files, and they must work while the control plane is down). Run as the user the platform runs as (root).
//   berth-admin backup [--out FILE | --dir DIR]     one consistent archive, safe while the platform runs
//   berth-admin restore ARCHIVE [--data-dir DIR]    into an empty data dir; then `npm start`
//   berth-admin backup:inspect ARCHIVE              what an archive holds
import path from "node:path";
import { Command, CommanderError } from "commander";
import { loadConfig } from "../config.ts";
import {
  archiveName,
  createBackup,
  pruneBackups,
  readBackupManifest,
  restoreBackup,
  type BackupManifest,
} from "../backup/archive.ts";

const out = (line: string) => process.stdout.write(`${line}\n`);
// `npm run backup -- --out x.tgz` runs in the project root: paths are meant relative to where the user typed it.
const userPath = (p: string) => path.resolve(process.env.INIT_CWD ?? process.cwd(), p);

function summary(m: BackupManifest): void {
  const images = Object.values(m.images).reduce((n, ds) => n + ds.length, 0);
  out(`  created ${m.createdAt}, database at migration ${m.migration ?? "(none)"}`);
  out(
    `  ${m.apps.length} app(s), ${m.gitRepos.length} git repositor${m.gitRepos.length === 1 ? "y" : "ies"}, ${images} image(s)`,
  );
  for (const a of m.apps) {
    const at =
      a.version === null
        ? "nothing deployed"
        : `v${a.version}${a.imageIncluded ? "" : " (its image is NOT in the archive)"}`;
    out(`  ${a.app}: ${at}`);
  }
}

/** Builds the command tree; `argv` as process.argv. */
export async function runAdmin(argv: string[]): Promise<void> {
  const program = new Command("berth-admin")
    .description("Berth operator commands (run on the control-plane machine)")
    .exitOverride();
  program
    .command("backup")
    .description("write one consistent archive of the platform's state (database, git, release images, settings)")
    .option("--out <file>", "archive file to write")
    .option("--dir <dir>", "directory for a timestamped archive (default BERTH_BACKUP_DIR); keeps BERTH_BACKUP_KEEP")
    .action(async (o: { out?: string; dir?: string }) => {
      const config = loadConfig();
      if (o.out && o.dir) throw new Error("give --out or --dir, not both");
      const dir = o.dir ? userPath(o.dir) : config.backup.dir;
      const file = o.out ? userPath(o.out) : path.join(dir, archiveName(new Date()));
      const m = await createBackup(config.dataDir, file);
      out(`backup written: ${file}`);
      summary(m);
      if (!o.out) {
        const pruned = await pruneBackups(dir, config.backup.keep);
        if (pruned.length > 0)
          out(`  removed ${pruned.length} older archive(s) (BERTH_BACKUP_KEEP=${config.backup.keep})`);
      }
      if (m.apps.some((a) => !a.imageIncluded)) process.exitCode = 2;
    });
  program
    .command("restore")
    .description("unpack an archive into an empty data dir (BERTH_DATA_DIR); then start the platform with `npm start`")
    .argument("<archive>", "a file written by `berth-admin backup`")
    .option("--data-dir <dir>", "data dir to restore into (default BERTH_DATA_DIR)")
    .action(async (archive: string, o: { dataDir?: string }) => {
      const dataDir = o.dataDir ? userPath(o.dataDir) : loadConfig().dataDir;
      const m = await restoreBackup(userPath(archive), dataDir);
      out(`restored into ${dataDir}:`);
      summary(m);
      out("start the platform with this data dir (`BERTH_DATA_DIR=... npm start`); apps come back at these releases");
    });
  program
    .command("backup:inspect")
    .description("print what an archive holds")
    .argument("<archive>")
    .action(async (archive: string) => {
      summary(await readBackupManifest(userPath(archive)));
    });
  await program.parseAsync(argv);
}

runAdmin(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode);
  }
  process.stderr.write(`berth-admin: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
