// The database part of a backup: SQLite's `VACUUM INTO` through the libSQL driver the platform already uses. It
// reads one transaction-consistent snapshot while the control plane keeps reading and writing (WAL mode: the
// snapshot holds a read lock only), and writes a compact, self-contained file (no -wal/-shm beside it).
import fs from "node:fs/promises";
import { createClient } from "@libsql/client";
import { BUSY_TIMEOUT_MS } from "../db/guarded-libsql.ts";

/** What the snapshot says about the apps: the release each one serves, to check the images are in the backup. */
export interface AppAtRelease {
  app: string;
  version: number | null;
  imageRef: string | null;
  imageDigest: string | null;
}

/** Writes a consistent copy of the database file `dbFile` to `dest` (which must not exist). */
export async function snapshotDatabase(dbFile: string, dest: string): Promise<void> {
  await fs.access(dbFile);
  const db = createClient({ url: `file:${dbFile}` });
  try {
    // Waits for a writer's commit of another process instead of failing at once.
    await db.execute(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS * 3}`);
    await db.execute({ sql: "VACUUM INTO ?", args: [dest] });
  } finally {
    db.close();
  }
}

/** Fails unless `dbFile` passes SQLite's integrity check; returns the apps with their serving release. */
export async function checkDatabase(dbFile: string): Promise<AppAtRelease[]> {
  const db = createClient({ url: `file:${dbFile}` });
  try {
    const check = await db.execute("PRAGMA integrity_check");
    const verdict = String(check.rows[0]?.[0] ?? "");
    if (verdict !== "ok") throw new Error(`database ${dbFile} is damaged: ${verdict}`);
    // The serving release is the newest deployed one (rollback makes a new release, so it is also the newest).
    const rows = await db.execute(
      `SELECT a.name AS app, r.version AS version, r.imageRef AS imageRef, r.imageDigest AS imageDigest
         FROM App a LEFT JOIN Release r ON r.id = (
           SELECT id FROM Release WHERE appId = a.id AND status = 'deployed' ORDER BY version DESC LIMIT 1)
        ORDER BY a.name`,
    );
    return rows.rows.map((r) => ({
      app: String(r.app),
      version: r.version === null ? null : Number(r.version),
      imageRef: r.imageRef === null ? null : String(r.imageRef),
      imageDigest: r.imageDigest === null ? null : String(r.imageDigest),
    }));
  } finally {
    db.close();
  }
}
