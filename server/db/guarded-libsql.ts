// The libSQL driver adapter with two defects of its local-file mode worked around (prisma/orm#30028,
// tursodatabase/libsql-client-ts#350):
// - A COMMIT that fails (SQLITE_BUSY while another process reads or writes the file) leaves its transaction open on a
//   connection nobody closes. That connection keeps its lock until the process exits: in rollback-journal mode every
//   later query of every process fails with "database is locked". Here a failed COMMIT is rolled back at once.
// - Connections open with no busy timeout, and `PRAGMA busy_timeout` set once does not stick: each interactive
//   transaction takes the client's connection and the client opens a new one. Here every connection gets it.
// Within one process the adapter already runs one statement or transaction at a time, so the busy timeout only ever
// waits for another process (a test, a script, `prisma migrate`) holding the write lock for a moment.
import type { TransactionMode } from "@libsql/client";
import { PrismaLibSQL } from "@prisma/adapter-libsql";

type Client = ReturnType<PrismaLibSQL["createClient"]>;

/** How long a statement waits for another process's lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 3000;

async function setBusyTimeout(client: Client): Promise<void> {
  await client.execute(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

export class GuardedLibSQL extends PrismaLibSQL {
  override createClient(config: Parameters<PrismaLibSQL["createClient"]>[0]): Client {
    const client = super.createClient(config);
    // The local client runs statements synchronously, so this is applied before anything else uses the connection.
    void setBusyTimeout(client).catch(() => undefined);
    const transaction = client.transaction.bind(client);
    client.transaction = async (mode?: TransactionMode) => {
      const tx = await transaction(mode);
      // The client opens its next connection lazily: open it now, with the timeout.
      await setBusyTimeout(client);
      const commit = tx.commit.bind(tx);
      tx.commit = async () => {
        try {
          await commit();
        } catch (err) {
          // close() rolls the transaction back when it is still open, which releases its locks.
          tx.close();
          throw err;
        }
      };
      return tx;
    };
    return client;
  }
}
