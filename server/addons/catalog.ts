// What add-ons Berth offers: the allowlist of kinds and plans, and how each runs (its platform image, fixed command,
// credentials and connection URL). Pure: no I/O, unit tested in catalog.test.ts.
import crypto from "node:crypto";
import type { StackName } from "../builds/stacks/recipe.ts";

/** Add-on kinds Berth can provision. */
export const ADDON_KINDS = ["postgres", "redis"] as const;
export type AddonKind = (typeof ADDON_KINDS)[number];

/** One plan: the service's memory and CPU limits, its volume's size, and the service's connection cap. */
export interface AddonPlan {
  memoryMb: number;
  cpu: number;
  volumeMb: number;
  maxConnections: number;
}

/** PostgreSQL plans by name. */
export const POSTGRES_PLANS: Readonly<Record<string, AddonPlan>> = Object.freeze({
  small: { memoryMb: 512, cpu: 1, volumeMb: 1024, maxConnections: 20 },
  standard: { memoryMb: 1024, cpu: 2, volumeMb: 4096, maxConnections: 60 },
});
/** Every kind has this plan. */
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

/** The plans of a kind. */
export function addonPlans(kind: AddonKind): Readonly<Record<string, AddonPlan>> {
  return kind === "postgres" ? POSTGRES_PLANS : REDIS_PLANS;
}

/** The plan of a kind, or null when there is no such plan. */
export function addonPlan(kind: AddonKind, plan: string): AddonPlan | null {
  const plans = addonPlans(kind);
  return Object.hasOwn(plans, plan) ? (plans[plan] ?? null) : null;
}

/** A new add-on name (also its hidden service app's name): the kind, `-` and 8 random hex digits. */
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
export const CREDENTIAL_VARS = {
  user: "BERTH_PG_USER",
  password: "BERTH_PG_PASSWORD",
  database: "BERTH_PG_DB",
} as const;

/** The service app's config vars for `c`. */
export function credentialVars(c: PostgresCredentials): Record<string, string> {
  return {
    [CREDENTIAL_VARS.user]: c.user,
    [CREDENTIAL_VARS.password]: c.password,
    [CREDENTIAL_VARS.database]: c.database,
  };
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

// ---- Redis ----

/** Redis plans by name (maxConnections = maxclients; the memory limit leaves a quarter for the process itself). */
export const REDIS_PLANS: Readonly<Record<string, AddonPlan>> = Object.freeze({
  small: { memoryMb: 256, cpu: 0.5, volumeMb: 512, maxConnections: 100 },
  standard: { memoryMb: 1024, cpu: 1, volumeMb: 2048, maxConnections: 400 },
});

/** The pinned Redis major version (Debian 12's redis-server 7.0). */
export const REDIS_VERSION = "7";
export const REDIS_CONFIG_VAR = "REDIS_URL";
export const REDIS_PASSWORD_VAR = "BERTH_REDIS_PASSWORD";

/**
 * The Redis service's command: a config file (0600, in the container's own /tmp, so the password is never on a
 * command line) with the password, append-only persistence (fsync every second) in a directory on the volume, the
 * plan's memory and client caps; the variable is unset and the server runs as the redis user (setpriv).
 */
export function redisCommand(plan: AddonPlan): string {
  const maxmemory = Math.max(16, Math.floor((plan.memoryMb * 3) / 4));
  return [
    "set -eu",
    `V=${ADDON_MOUNT_PATH}; D=$V/redis`,
    'install -d -o redis -g redis -m 0700 "$D"',
    'C=$(mktemp); chown redis "$C"',
    `printf 'port %s\nbind 0.0.0.0\nprotected-mode no\ndir %s\nappendonly yes\nappendfsync everysec\nmaxmemory ${maxmemory}mb\nmaxclients ${plan.maxConnections}\nrequirepass %s\n' "$PORT" "$D" "$${REDIS_PASSWORD_VAR}" > "$C"`,
    `unset ${REDIS_PASSWORD_VAR}`,
    'exec setpriv --reuid=redis --regid=redis --init-groups -- /usr/bin/redis-server "$C"',
  ].join("\n");
}

// ---- Per kind ----

/** Everything that differs between kinds. */
export interface KindSpec {
  /** The platform image recipe it runs (server/builds/stacks/recipe.ts). */
  stack: StackName;
  version: string;
  /** Human name ("PostgreSQL"). */
  label: string;
  /** The config var the owning app gets. */
  configVar: string;
  /** New random credentials, as the service app's config vars. */
  newVars(): Record<string, string>;
  /** The connection URL from those vars and where the service runs. */
  url(vars: Record<string, string>, host: string, port: number): string;
  /** The service's fixed command. */
  command(plan: AddonPlan): string;
}

/** The spec of each kind. */
export const KINDS: Readonly<Record<AddonKind, KindSpec>> = Object.freeze({
  postgres: {
    stack: "postgres",
    version: POSTGRES_VERSION,
    label: "PostgreSQL",
    configVar: POSTGRES_CONFIG_VAR,
    newVars: () => credentialVars(newPostgresCredentials()),
    url: (v, host, port) =>
      postgresUrl(
        {
          user: v[CREDENTIAL_VARS.user] ?? "",
          password: v[CREDENTIAL_VARS.password] ?? "",
          database: v[CREDENTIAL_VARS.database] ?? "",
        },
        host,
        port,
      ),
    command: postgresCommand,
  },
  redis: {
    stack: "redis",
    version: REDIS_VERSION,
    label: "Redis",
    configVar: REDIS_CONFIG_VAR,
    newVars: () => ({ [REDIS_PASSWORD_VAR]: crypto.randomBytes(32).toString("base64url") }),
    url: (v, host, port) => `redis://:${encodeURIComponent(v[REDIS_PASSWORD_VAR] ?? "")}@${host}:${port}`,
    command: redisCommand,
  },
} satisfies Record<AddonKind, KindSpec>);

/** The spec of a stored kind (rows hold validated kinds; anything else is a bug). */
export function kindSpec(kind: string): KindSpec {
  if (!isAddonKind(kind)) throw new Error(`unknown add-on kind ${JSON.stringify(kind)}`);
  return KINDS[kind];
}
