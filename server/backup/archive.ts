// One backup archive of a platform's state: `berth-admin backup`, `npm run backup` and the scheduled backups all
// call createBackup; `berth-admin restore` calls restoreBackup. docs/operations.md describes the procedure.
//
// Contents (a gzip'd tar): berth-backup.json (what is inside), berth.db (a consistent snapshot), git/<app>.git,
// registry/credentials.json and the registry images still held (releases within BERTH_KEEP_RELEASES and every
// serving one). Not included, because they are rebuilt or re-created: the agent's state and image layers (instances
// are started again from the registry), build caches, the router's generated config, app logs.
//
// Order matters: the database first, then git, then the registry. A release row exists only after its image was
// pushed, and pruning never deletes a serving release's image, so every release the snapshot serves has its image
// in the copy taken after it.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { checkDatabase, snapshotDatabase, type AppAtRelease } from "./database.ts";
import { copyGitRepos } from "./git-repos.ts";
import { copyRegistryImages } from "./registry-blobs.ts";
import { copyFileIfPresent } from "./copy-tree.ts";
import { runTool } from "../process/run.ts";

/** tar runs without a time limit (as before): an archive with the registry's images can take long to pack. */
const TAR = { timeoutMs: 0 };

/** Name of the description file at the top of every archive. */
export const MANIFEST_FILE = "berth-backup.json";
const FORMAT = 1;

const BackupManifest = z.object({
  format: z.literal(FORMAT),
  createdAt: z.string(),
  /** Newest database migration applied in the snapshot (restore into older code is refused by migrate). */
  migration: z.string().nullable(),
  gitRepos: z.array(z.string()),
  images: z.record(z.string(), z.array(z.string())),
  apps: z.array(
    z.object({
      app: z.string(),
      version: z.number().nullable(),
      /** Whether the image of the serving release is in the archive. */
      imageIncluded: z.boolean(),
    }),
  ),
});
export type BackupManifest = z.infer<typeof BackupManifest>;

/** Archive file names the backups use: berth-backup-<UTC timestamp>.tar.gz (sorting by name sorts by time). */
export const ARCHIVE_NAME = /^berth-backup-\d{8}T\d{6}(\d{3})?Z\.tar\.gz$/;

/** The file name of an archive made at `at`. */
export function archiveName(at: Date): string {
  return `berth-backup-${at.toISOString().replace(/[-:]/g, "").replace(".", "")}.tar.gz`;
}

async function newestMigration(dbFile: string): Promise<string | null> {
  const { createClient } = await import("@libsql/client");
  const db = createClient({ url: `file:${dbFile}` });
  try {
    const r = await db.execute(
      "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name DESC LIMIT 1",
    );
    return r.rows[0] ? String(r.rows[0][0]) : null;
  } catch {
    return null;
  } finally {
    db.close();
  }
}

function imageIncluded(a: AppAtRelease, images: Map<string, Set<string>>): boolean {
  if (a.version === null) return true; // nothing deployed: nothing to bring back
  return a.imageDigest !== null && a.imageRef !== null && (images.get(a.imageRef)?.has(a.imageDigest) ?? false);
}

/**
 * Writes a backup of the platform in `dataDir` to `outFile` (written under a temporary name, renamed when complete,
 * so a crash never leaves a partial archive under the final name). Safe while the control plane runs.
 */
export async function createBackup(dataDir: string, outFile: string): Promise<BackupManifest> {
  const dbFile = path.join(dataDir, "berth.db");
  await fs.access(dbFile).catch((err: unknown) => {
    throw new Error(`no platform database at ${dbFile}: is BERTH_DATA_DIR right?`, { cause: err });
  });
  await fs.mkdir(path.dirname(outFile), { recursive: true, mode: 0o700 });
  const tag = crypto.randomBytes(4).toString("hex");
  const staging = `${outFile}.${tag}.staging`;
  const partial = `${outFile}.${tag}.partial`;
  try {
    await fs.mkdir(staging, { mode: 0o700 });
    await snapshotDatabase(dbFile, path.join(staging, "berth.db"));
    const apps = await checkDatabase(path.join(staging, "berth.db"));
    const gitRepos = await copyGitRepos(path.join(dataDir, "git"), path.join(staging, "git"));
    await copyFileIfPresent(
      path.join(dataDir, "registry", "credentials.json"),
      path.join(staging, "registry", "credentials.json"),
    );
    const images = await copyRegistryImages(
      path.join(dataDir, "registry", "data"),
      path.join(staging, "registry", "data"),
    );
    const manifest: BackupManifest = {
      format: FORMAT,
      createdAt: new Date().toISOString(),
      migration: await newestMigration(path.join(staging, "berth.db")),
      gitRepos,
      images: Object.fromEntries([...images].map(([repo, ds]) => [repo, [...ds].sort()])),
      apps: apps.map((a) => ({ app: a.app, version: a.version, imageIncluded: imageIncluded(a, images) })),
    };
    await fs.writeFile(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    // The manifest first in the archive, so `tar -xOf ARCHIVE berth-backup.json` finds it at once.
    const top = (await fs.readdir(staging)).filter((n) => n !== MANIFEST_FILE).sort();
    await runTool("tar", ["-czf", partial, "-C", staging, "--", MANIFEST_FILE, ...top], TAR);
    await fs.chmod(partial, 0o600);
    await fs.rename(partial, outFile);
    return manifest;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.rm(partial, { force: true });
  }
}

/** Reads the description of an archive without unpacking the rest. */
export async function readBackupManifest(archive: string): Promise<BackupManifest> {
  const stdout = await runTool("tar", ["-xzOf", archive, "--", MANIFEST_FILE], {
    ...TAR,
    maxOutputBytes: 64 * 1024 * 1024,
  }).catch((err: unknown) => {
    throw new Error(`${archive} is not a Berth backup (no ${MANIFEST_FILE} inside)`, { cause: err });
  });
  const parsed = BackupManifest.safeParse(JSON.parse(stdout));
  if (!parsed.success)
    throw new Error(`${archive}: unsupported backup description (${parsed.error.issues[0]?.message ?? "invalid"})`);
  return parsed.data;
}

/**
 * Unpacks `archive` into `dataDir`, which must not exist or be empty (a restore never mixes with live state). The
 * archive is unpacked beside it first and checked (description, database integrity), then moved into place.
 */
export async function restoreBackup(archive: string, dataDir: string): Promise<BackupManifest> {
  const manifest = await readBackupManifest(archive);
  const existing = await fs.readdir(dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
  if (existing !== null && existing.length > 0) {
    throw new Error(`refusing to restore into ${dataDir}: it is not empty (restore needs an empty or new data dir)`);
  }
  const parent = path.dirname(dataDir);
  await fs.mkdir(parent, { recursive: true });
  const work = path.join(parent, `.${path.basename(dataDir)}.restoring-${crypto.randomBytes(4).toString("hex")}`);
  try {
    await fs.mkdir(work, { mode: 0o700 });
    // Names with `..` or a leading `/` are refused by GNU tar's defaults; owners are not taken from the archive.
    await runTool("tar", ["-xzf", archive, "-C", work, "--no-same-owner", "--no-same-permissions"], TAR);
    await checkDatabase(path.join(work, "berth.db"));
    await fs.rm(path.join(work, MANIFEST_FILE), { force: true });
    if (existing !== null) await fs.rmdir(dataDir);
    await fs.rename(work, dataDir);
    await fs.chmod(dataDir, 0o700);
    return manifest;
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** Deletes the oldest archives in `dir` beyond the newest `keep`; resolves to the names deleted. */
export async function pruneBackups(dir: string, keep: number): Promise<string[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => ARCHIVE_NAME.test(n)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep));
  for (const n of old) await fs.rm(path.join(dir, n), { force: true });
  return old;
}
