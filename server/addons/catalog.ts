// What add-ons Berth offers: the allowlist of kinds and plans, and how a PostgreSQL add-on runs (its fixed command,
// credentials and connection URL). Pure: no I/O, unit tested in catalog.test.ts.
import crypto from "node:crypto";

/** Add-on kinds Berth can provision (redis comes next, docs/addons.md). */
export const ADDON_KINDS = ["postgres"] as const;
export type AddonKind = (typeof ADDON_KINDS)[number];

/** One plan: the service's memory and CPU limits, its volume's size, and PostgreSQL's connection cap. */
export interface AddonPlan {
  memoryMb: number;
  cpu: number;
  volumeMb: number;
  maxConnections: number;
}

/** Plans by name; the first is the default. */
export const POSTGRES_PLANS: Readonly<Record<string, AddonPlan>> = Object.freeze({
  small: { memoryMb: 512, cpu: 1, volumeMb: 1024, maxConnections: 20 },
  standard: { memoryMb: 1024, cpu: 2, volumeMb: 4096, maxConnections: 60 },
});
export const DEFAULT_PLAN = "small";

/** The pinned PostgreSQL major version (Debian 12's postgresql-15, server/builds/stacks/recipe.ts). */
export const POSTGRES_VERSION = "15";

/** The config var the owning app gets. */
export const POSTGRES_CONFIG_VAR = "DATABASE_URL";

/** Where the service's volume is mounted inside its container; the data directory is below it. */
export const ADDON_MOUNT_PATH = "/var/lib/berth-addon";

/** Name of the add-on's volume on its service app. */
export const ADDON_VOLUME_NAME = "data";

/** Add-on names as generated (`postgres-<8 hex>`) and accepted in paths. */
export const ADDON_NAME_PATTERN = /^[a-z][a-z0-9-]{1,29}$/;

/** True if `kind` is an add-on kind Berth offers. */
export function isAddonKind(kind: string): kind is AddonKind {
  return (ADDON_KINDS as readonly string[]).includes(kind);
}

/** The plan of a kind, or null when there is no such plan. */
export function addonPlan(kind: AddonKind, plan: string): AddonPlan | null {
  if (kind !== "postgres") return null;
  return Object.hasOwn(POSTGRES_PLANS, plan) ? (POSTGRES_PLANS[plan] ?? null) : null;
}

/** A new add-on name (also its hidden service app's name): `postgres-` and 8 random hex digits. */
export function newAddonName(kind: AddonKind): string {
  return `${kind}-${crypto.randomBytes(4).toString("hex")}`;
}

/** Generated credentials: a role and database named by random hex, a 32-byte random password (URL-safe). */
export interface PostgresCredentials {
  user: string;
  password: string;
  database: string;
}

/** New random credentials for one add-on. */
export function newPostgresCredentials(): PostgresCredentials {
  return {
    user: `u${crypto.randomBytes(8).toString("hex")}`,
    password: crypto.randomBytes(32).toString("base64url"),
    database: `d${crypto.randomBytes(8).toString("hex")}`,
  };
}

/** Config vars of the service app that carry the credentials into its container (read once, at initdb). */
export const CREDENTIAL_VARS = { user: "BERTH_PG_USER", password: "BERTH_PG_PASSWORD", database: "BERTH_PG_DB" } as const;

/** The service app's config vars for `c`. */
export function credentialVars(c: PostgresCredentials): Record<string, string> {
  return { [CREDENTIAL_VARS.user]: c.user, [CREDENTIAL_VARS.password]: c.password, [CREDENTIAL_VARS.database]: c.database };
}

/** The connection URL the app gets: `postgres://user:password@host:port/database`. */
export function postgresUrl(c: PostgresCredentials, host: string, port: number): string {
  return `postgres://${c.user}:${encodeURIComponent(c.password)}@${host}:${port}/${c.database}`;
}

/**
 * The service's command (run by the image's /bin/sh as the container's root, which the user namespace maps to the
 * team's unprivileged range). At first start it initialises the data directory on the volume: initdb into a scratch
 * directory as the postgres user with the generated password (scram-sha-256 everywhere, no trust), a pg_hba that
 * accepts password logins only, the app's database, then one rename, so a crash half-way leaves no half-made
 * directory that would count as initialised. Then it drops to the postgres user (setpriv: CAP_SETUID/SETGID, which
 * root in the container keeps) and runs the server on $PORT, without unix sockets (nothing else shares the
 * container), with the password variable unset first. Plan settings come in as flags.
 */
export function postgresCommand(plan: AddonPlan): string {
  const bin = `/usr/lib/postgresql/${POSTGRES_VERSION}/bin`;
  return [
    "set -eu",
    `V=${ADDON_MOUNT_PATH}; D=$V/pgdata; N=$V/pgdata.init; B=${bin}`,
    'as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }',
    'if [ ! -s "$D/PG_VERSION" ]; then',
    '  rm -rf "$N"; install -d -o postgres -g postgres -m 0700 "$N"',
    '  pw=$(mktemp); chown postgres "$pw"; printf %s "$BERTH_PG_PASSWORD" > "$pw"',
    '  as_pg "$B/initdb" -D "$N" -U "$BERTH_PG_USER" --pwfile="$pw" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null',
    '  rm -f "$pw"',
    "  printf 'local all all scram-sha-256\\nhost all all 0.0.0.0/0 scram-sha-256\\nhost all all ::/0 scram-sha-256\\n' > \"$N/pg_hba.conf\"",
    '  echo "CREATE DATABASE \\"$BERTH_PG_DB\\" OWNER \\"$BERTH_PG_USER\\";" | as_pg "$B/postgres" --single -D "$N" postgres >/dev/null',
    '  mv "$N" "$D"',
    "fi",
    "unset BERTH_PG_PASSWORD",
    `exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$B/postgres" -D "$D" -c listen_addresses='*' -c port="$PORT" -c unix_socket_directories= -c max_connections=${plan.maxConnections} -c shared_buffers=${Math.max(16, Math.floor(plan.memoryMb / 4))}MB`,
  ].join("\n");
}
