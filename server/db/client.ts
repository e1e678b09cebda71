// Database access: Prisma Client over the libSQL driver adapter. Swapping to PostgreSQL means swapping the adapter.
import { PrismaClient } from "@prisma/client";
import { GuardedLibSQL } from "./guarded-libsql.ts";

export type Db = PrismaClient;

/** Opens the database at a `file:` URL. */
export function createDb(databaseUrl: string): Db {
  const adapter = new GuardedLibSQL({ url: databaseUrl });
  return new PrismaClient({ adapter });
}

/**
 * Puts the database file in write-ahead-log mode (kept in the file; nothing happens when it already is). With the
 * default rollback journal every commit creates, syncs and deletes a journal file: 1.5 ms per commit on the 2-core
 * development machine and 5-6 ms under load, against 0.13 ms in WAL mode with the same durability (synchronous=FULL:
 * the log is synced at every commit). libSQL runs statements synchronously, so that time blocks the event loop, and a
 * rollout at 5,000 instances commits thousands of times (docs/benchmarks.md, reconcile). Readers also stop blocking
 * the writer. The `berth.db-wal` and `berth.db-shm` files beside the database are part of it while it is open.
 */
export async function useWriteAheadLog(db: Db): Promise<void> {
  await db.$queryRawUnsafe("PRAGMA journal_mode = WAL");
}
