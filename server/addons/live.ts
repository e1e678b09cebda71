// What `addons:info` shows about a running add-on beyond its rows: current client connections and data size, asked
// from the service itself by the control plane (wire.ts) with the add-on's own credentials (its service app's config
// vars). PostgreSQL: client backends in pg_stat_activity other than this one, pg_database_size of the app's database.
// Redis: connected_clients from INFO minus this one, used_memory_dataset. Failures give nulls (the add-on may be
// restarting); the reason is logged without credentials.
import type { Services } from "../context.ts";
import { CREDENTIAL_VARS, REDIS_PASSWORD_VAR } from "./catalog.ts";
import { parseInfo, pgQueryRow, redisCommands } from "./wire.ts";

/** Live figures of an add-on; null = not known now (not running, or it did not answer in time). */
export interface AddonLive {
  connections: number | null;
  dataBytes: number | null;
}

const PG_SQL =
  "select (select count(*) from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()), " +
  "pg_database_size(current_database())";

const int = (v: string | null | undefined) => {
  const n = Number(v);
  return v !== null && v !== undefined && v !== "" && Number.isSafeInteger(n) && n >= 0 ? n : null;
};

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
      const [clients, memory] = await redisCommands({ ...addr, password: vars[REDIS_PASSWORD_VAR] ?? "" }, [
        ["INFO", "clients"],
        ["INFO", "memory"],
      ]);
      const connected = int(parseInfo(String(clients ?? "")).get("connected_clients"));
      return {
        connections: connected === null ? null : Math.max(0, connected - 1),
        dataBytes: int(parseInfo(String(memory ?? "")).get("used_memory_dataset")),
      };
    }
  } catch (err) {
    // The message comes from wire.ts, which never includes credentials.
    s.log.warn({ addon: a.name, reason: err instanceof Error ? err.message : String(err) }, "add-on did not answer");
  }
  return { connections: null, dataBytes: null };
}
