// One question to a running add-on, asked with its own credentials through the usual client libraries (`pg`,
// `ioredis`) for live.ts. Each ask opens one connection, has one deadline that covers connect, login and the
// commands, never retries or reconnects, and always closes its connection. Thrown messages never carry a
// credential: PostgreSQL's login errors name the user ("password authentication failed for user ..."), so messages
// are reduced to the SQLSTATE and scrubbed of the user, database and password.
import { Redis } from "ioredis";
import pg from "pg";

const DEADLINE_MS = 5_000;

class DeadlineError extends Error {}

/** `message` with every credential value replaced (longest first, so one cannot hide part of another). */
export function scrub(message: string, secrets: string[]): string {
  let out = message;
  for (const s of [...secrets].filter((x) => x.length > 0).sort((a, b) => b.length - a.length))
    out = out.split(s).join("***");
  return out;
}

/** A thrown value as a message fit for logs: the server's code when it sent one, scrubbed of `secrets`. */
export function safeReason(label: string, err: unknown, secrets: string[]): string {
  if (err instanceof pg.DatabaseError) return scrub(`${label}: server error ${err.code ?? "unknown"}`, secrets);
  const msg = err instanceof Error ? err.message : String(err);
  return scrub(`${label}: ${msg}`, secrets);
}

/** Runs `work` until `ms` pass; `close` runs in every case (and at the deadline, to stop the work). */
async function withDeadline<T>(ms: number, close: () => void, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      close();
      reject(new DeadlineError(`no answer within ${ms} ms`));
    }, ms);
  });
  const running = work();
  running.catch(() => {}); // after the deadline its rejection (the closed socket) has no one left to tell
  try {
    return await Promise.race([running, deadline]);
  } finally {
    clearTimeout(timer);
    close();
  }
}

export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Logs in (SCRAM-SHA-256 only), runs `sql` and returns the first row's columns. */
export async function pgQueryRow(t: PgTarget, sql: string, timeoutMs = DEADLINE_MS): Promise<unknown[]> {
  // The add-on's pg_hba accepts only SCRAM-SHA-256, which never sends the password and checks the server's
  // signature. A server asking for cleartext or MD5 is not the add-on: the password function below refuses it
  // (pg emits these events before it asks for the password, on a later microtask).
  let weaker = false;
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    user: t.user,
    database: t.database,
    password: () => {
      if (weaker) throw new Error("server asked for a weaker authentication than SCRAM-SHA-256");
      return t.password;
    },
    ssl: false,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    application_name: "berth-addons-info",
  });
  client.connection.on("authenticationCleartextPassword", () => (weaker = true));
  client.connection.on("authenticationMD5Password", () => (weaker = true));
  client.on("error", () => {}); // a late socket error must not become an unhandled 'error' event
  try {
    return await withDeadline(
      timeoutMs,
      () => client.connection.stream.destroy(),
      async () => {
        await client.connect();
        const res = await client.query({ text: sql, rowMode: "array" });
        await client.end();
        const row = res.rows[0] as unknown[] | undefined;
        if (!row) throw new Error("no row");
        return row;
      },
    );
  } catch (err) {
    throw new Error(safeReason("PostgreSQL", err, [t.password, t.user, t.database]));
  }
}

/** AUTH with `password`, then `INFO section` for each section; returns the replies. */
export async function redisInfo(
  t: { host: string; port: number; password: string },
  sections: string[],
  timeoutMs = DEADLINE_MS,
): Promise<string[]> {
  const redis = new Redis({
    host: t.host,
    port: t.port,
    password: t.password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    retryStrategy: () => null, // no reconnect
    reconnectOnError: () => false,
    maxRetriesPerRequest: 0,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    disableClientInfo: true, // one connection, only our commands
  });
  // Without a listener ioredis prints errors to the console itself. A refused login arrives here (WRONGPASS), while
  // connect() only says the connection closed: keep it as the reason.
  let failure: unknown;
  redis.on("error", (err) => (failure ??= err));
  try {
    return await withDeadline(
      timeoutMs,
      () => redis.disconnect(),
      async () => {
        await redis.connect();
        const out: string[] = [];
        for (const s of sections) out.push(await redis.info(s));
        return out;
      },
    );
  } catch (err) {
    // Redis' own replies are codes with fixed text (WRONGPASS, NOAUTH); the password is scrubbed all the same.
    throw new Error(safeReason("Redis", err instanceof DeadlineError ? err : (failure ?? err), [t.password]));
  }
}
