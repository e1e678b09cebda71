// The fixed shell scripts a backup runs inside the add-on's own running container (exec-stream.ts): its image has the
// tools (pg_dump/pg_restore, redis-cli) and its environment the credentials, so the scripts name only variables and
// no credential ever reaches an argv, a log line or the control plane's disk in clear. Pure; unit tested.
import { ADDON_MOUNT_PATH, CREDENTIAL_VARS, type AddonKind } from "../catalog.ts";

/** File suffix of a backup on disk and in downloads, by kind. */
export const BACKUP_SUFFIX: Readonly<Record<AddonKind, string>> = Object.freeze({ postgres: "pgdump", redis: "rdb" });

const PG_ENV = `export PGPASSWORD="$${CREDENTIAL_VARS.password}" PGHOST=127.0.0.1 PGPORT="$PORT" PGUSER="$${CREDENTIAL_VARS.user}" PGDATABASE="$${CREDENTIAL_VARS.database}"`;
const REDIS_ENV = 'export REDISCLI_AUTH="$BERTH_REDIS_PASSWORD"';
const REDIS_DIR = `${ADDON_MOUNT_PATH}/redis`;

/**
 * Writes the backup to stdout. PostgreSQL: pg_dump's custom format (one consistent snapshot, compressed, restorable
 * table by table). Redis: `redis-cli --rdb` (the server forks a point-in-time snapshot, like BGSAVE) into a private
 * temp file in the container's own /tmp, then cat: to a file, redis-cli cuts the replication EOF marker that it would
 * leave on stdout.
 */
export function captureScript(kind: AddonKind): string {
  if (kind === "postgres") return ["set -eu", PG_ENV, "exec pg_dump -Fc --no-owner --no-privileges"].join("\n");
  return [
    "set -eu",
    REDIS_ENV,
    "F=$(mktemp); trap 'rm -f \"$F\"' EXIT",
    'redis-cli -h 127.0.0.1 -p "$PORT" --rdb "$F" >/dev/null 2>&1 || { echo "redis-cli --rdb failed" >&2; exit 3; }',
    'cat "$F"',
  ].join("\n");
}

/** What the Redis restore prints once the new data is in place, just before it stops the server. */
export const REDIS_SWAPPED_MARKER = "berth-restore-swapped";

/**
 * Reads the backup from stdin and replaces the add-on's data.
 *
 * PostgreSQL: pg_restore --clean --if-exists in one transaction: every object in the backup is dropped and re-created
 * with the backup's rows, atomically (an error rolls everything back and leaves the data as it was). Objects created
 * after the backup are not in it and stay.
 *
 * Redis (AOF persistence): the RDB becomes the base of a new append-only directory (a manifest naming only it), built
 * next to the live one as the redis user; AOF is switched off on the running server so it stops writing there, the
 * directories are swapped, and the server is stopped without saving (SHUTDOWN NOSAVE). The agent restarts the
 * container at once (the first restart has no backoff) and Redis loads the backup as its AOF base. A file that is not
 * an RDB is refused before anything changes.
 */
export function restoreScript(kind: AddonKind): string {
  if (kind === "postgres")
    return [
      "set -eu",
      PG_ENV,
      'exec pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction --exit-on-error -d "$PGDATABASE"',
    ].join("\n");
  return [
    "set -eu",
    REDIS_ENV,
    `D=${REDIS_DIR}; N=$D/appendonlydir.restore; O=$D/appendonlydir.old`,
    'as_redis() { setpriv --reuid=redis --regid=redis --init-groups -- "$@"; }',
    'as_redis rm -rf "$N" "$O"',
    'as_redis mkdir -m 0700 "$N"',
    'as_redis sh -c \'cat > "$1"\' - "$N/appendonly.aof.1.base.rdb"',
    'if [ "$(as_redis head -c 5 "$N/appendonly.aof.1.base.rdb")" != REDIS ]; then as_redis rm -rf "$N"; echo "the backup is not a Redis RDB file" >&2; exit 3; fi',
    'as_redis sh -c \'printf "file appendonly.aof.1.base.rdb seq 1 type b\\n" > "$1"\' - "$N/appendonly.aof.manifest"',
    'r=$(redis-cli -h 127.0.0.1 -p "$PORT" CONFIG SET appendonly no 2>&1) || true',
    'if [ "$r" != OK ]; then as_redis rm -rf "$N"; echo "redis refused to stop AOF: $r" >&2; exit 4; fi',
    'if [ -d "$D/appendonlydir" ]; then as_redis mv "$D/appendonlydir" "$O"; fi',
    'as_redis mv "$N" "$D/appendonlydir"',
    'as_redis rm -rf "$O"',
    `echo ${REDIS_SWAPPED_MARKER}`,
    'redis-cli -h 127.0.0.1 -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true',
  ].join("\n");
}

/** Prints "yes" once the (restarted) Redis server answers with AOF on again. */
export const REDIS_READY_SCRIPT = [
  REDIS_ENV,
  'redis-cli -h 127.0.0.1 -p "$PORT" CONFIG GET appendonly 2>/dev/null | tail -n 1',
].join("\n");
