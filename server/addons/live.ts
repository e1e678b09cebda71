// What `addons:info` shows about a running add-on beyond its rows: current client connections and data size, asked
// from the service itself by the control plane (live-query.ts: `pg`, `ioredis`) with the add-on's own credentials (its service app's config
// vars). PostgreSQL: client backends in pg_stat_activity other than this one, pg_database_size of the app's database.
// Redis: connected_clients from INFO minus this one, used_memory_dataset. Failures give nulls (the add-on may be
// restarting); the reason is logged without credentials.
import type { Services } from "../context.ts";
import { CREDENTIAL_VARS, REDIS_PASSWORD_VAR } from "./catalog.ts";
import { pgQueryRow, redisInfo } from "./live-query.ts";

/** Live figures of an add-on; null = not known now (not running, or it did not answer in time). */
export interface AddonLive {
  connections: number | null;
  dataBytes: number | null;
}

const PG_SQL =
  "select (select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()), " +
  "pg_database_size(current_database())";

/** A count or size as a number; anything else (null, "", negative, too big for a JS number) is null. Pure. */
export function int(v: unknown): number | null {
  if (typeof v !== "string" && typeof v !== "number") return null;
  const n = Number(v);
  return v !== "" && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** `field:value` lines of an INFO reply as a map. Pure. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of text.split(/\r?\n/)) {
    const i = l.indexOf(":");
    if (i > 0 && !l.startsWith("#")) m.set(l.slice(0, i), l.slice(i + 1));
  }
  return m;
}

/** Redis' figures from `INFO clients` and `INFO memory`, without the asking connection itself. Pure. */
export function redisFigures(clients: string, memory: string): AddonLive {
  const connected = int(parseInfo(clients).get("connected_clients"));
  return {
    connections: connected === null ? null : Math.max(0, connected - 1),
    dataBytes: int(parseInfo(memory).get("used_memory_dataset")),
  };
}

/** Asks the add-on at `addr` (its node address and published port) for its connections and data size. */
export async function addonLive(
  s: Services,
  a: { name: string; kind: string; serviceAppId: string },
  addr: { host: string; port: number } | null,
): Promise<AddonLive> {
  if (!addr) return { connections: null, dataBytes: null };
  const vars = Object.fromEntries(
    (await s.db.configVar.findMany({ where: { appId: a.serviceAppId } })).map((v) => [v.key, v.value]),
  );
  try {
    if (a.kind === "postgres") {
      const [connections, size] = await pgQueryRow(
        {
          ...addr,
          user: vars[CREDENTIAL_VARS.user] ?? "",
          password: vars[CREDENTIAL_VARS.password] ?? "",
          database: vars[CREDENTIAL_VARS.database] ?? "",
        },
        PG_SQL,
      );
      return { connections: int(connections), dataBytes: int(size) };
    }
    if (a.kind === "redis") {
      const [clients, memory] = await redisInfo({ ...addr, password: vars[REDIS_PASSWORD_VAR] ?? "" }, [
        "clients",
        "memory",
      ]);
      return redisFigures(clients ?? "", memory ?? "");
    }
  } catch (err) {
    // live-query.ts reduces and scrubs the message: it never includes credentials.
    s.log.warn({ addon: a.name, reason: err instanceof Error ? err.message : String(err) }, "add-on did not answer");
  }
  return { connections: null, dataBytes: null };
}
