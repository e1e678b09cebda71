// Configuration comes from the environment (CONTRACT.md), parsed once at start and passed down explicitly.
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { z } from "zod";
import { passwordProblem } from "./validation/passwords.ts";

const port = z.coerce.number().int().min(0).max(65535);
const optionalNonEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v));

const EnvSchema = z.object({
  BERTH_DATA_DIR: z.string().optional(),
  PORT: port.default(3000),
  HOST: z.string().default("0.0.0.0"),
  BERTH_ROUTER_PORT: port.default(8080),
  BERTH_HTTPS_PORT: port.default(0),
  // HAProxy is the only data plane; the variable stays accepted (set to haproxy) so old unit files keep working.
  BERTH_ROUTER: z
    .enum(["haproxy"], {
      error: (issue) =>
        issue.input === "caddy"
          ? "the Caddy router was removed; HAProxy is the only router (unset BERTH_ROUTER, see docs/router.md)"
          : "the only router is haproxy",
    })
    .optional(),
  BERTH_ROUTER_OUTLIVES: z.enum(["on", "off"]).default("on"),
  // HAProxy threads; 0 = HAProxy's default (one per core). One measured cheaper per request on 2 cores (docs/router.md).
  BERTH_ROUTER_THREADS: z.coerce.number().int().min(0).max(64).default(0),
  BERTH_TLS_ISSUER: z.enum(["acme", "internal"]).default("acme"),
  BERTH_ACME_EMAIL: z.email().optional(),
  BERTH_ACME_CA: z.url({ protocol: /^https$/ }).optional(),
  BERTH_DOMAIN: z.string().default("localhost"),
  BERTH_PUBLIC_URL: optionalNonEmpty,
  BERTH_ADMIN_EMAIL: optionalNonEmpty,
  BERTH_ADMIN_PASSWORD: optionalNonEmpty,
  BERTH_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  BERTH_LOGIN_ACCOUNT_LIMIT: z.coerce.number().int().positive().default(100),
  BERTH_LOGIN_IP_LIMIT: z.coerce.number().int().positive().default(300),
  BERTH_SIGNUP: z.enum(["open", "closed"]).default("open"),
  BERTH_DEPLOY_BRANCHES: z
    .string()
    .regex(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/, { message: "comma-separated branch names" })
    .default("main,master"),
  BERTH_BUILD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  BERTH_BUILD_TIMEOUT: z.coerce.number().int().min(10).default(900),
  BERTH_BUILD_MEMORY: z
    .string()
    .regex(/^[0-9]+[kmg]?$/i)
    .default("2g"),
  BERTH_REGISTRY_PORT: port.default(0),
  BERTH_KEEP_RELEASES: z.coerce.number().int().min(1).max(1000).default(10),
  BERTH_SCHEDULER: z.enum(["on", "off"]).default("on"),
  BERTH_DNS_RESOLVER: optionalNonEmpty,
  BERTH_MIN_FREE_MB: z.coerce.number().int().min(0).default(256),
  BERTH_APP_LOG_MB: z.coerce.number().min(0.01).default(16),
  BERTH_BUILD_OUTPUT_KB: z.coerce.number().int().min(1).default(1024),
  BERTH_BACKUP_INTERVAL: z.coerce.number().min(0).default(0),
  BERTH_BACKUP_DIR: optionalNonEmpty,
  BERTH_BACKUP_KEEP: z.coerce.number().int().min(1).max(10_000).default(7),
  BERTH_ADDON_BACKUP_INTERVAL: z.coerce.number().min(0).default(1440),
  BERTH_ADDON_BACKUP_KEEP: z.coerce.number().int().min(1).max(1000).default(7),
  BERTH_EXEC_IDLE_TIMEOUT: z.coerce.number().int().min(10).max(86_400).default(900),
  BERTH_EXEC_MAX_SESSIONS: z.coerce.number().int().min(1).max(100).default(5),
  NODE_ENV: z.string().default("production"),
});

export interface Config {
  /** Directory holding the database, repos, registry storage, logs and agent state. */
  dataDir: string;
  databaseUrl: string;
  port: number;
  host: string;
  routerPort: number;
  /** Keep the router's HAProxy serving when the control plane stops; the next start adopts it (router.md). */
  routerOutlives: boolean;
  /** HAProxy's nbthread. */
  routerThreads: number;
  /** Router TLS listener port; 0 = HTTPS off. When on, hosts outside localhost get certificates (router.md). */
  httpsPort: number;
  /** Where those certificates come from: an ACME CA, or the control plane's internal CA (tests, private networks). */
  tlsIssuer: "acme" | "internal";
  /** ACME account email and directory URL (Let's Encrypt production when unset); acme issuer only. */
  acmeEmail: string | undefined;
  acmeCa: string | undefined;
  domain: string;
  /** Base URL users reach the control plane at (used in printed URLs and Origin checks). */
  publicUrl: string | undefined;
  admin: { email: string; password: string } | undefined;
  logLevel: z.infer<typeof EnvSchema>["BERTH_LOG_LEVEL"];
  loginAccountLimitPerHour: number;
  loginIpLimitPerHour: number;
  signupOpen: boolean;
  /** Branches whose pushes build and deploy. */
  deployBranches: string[];
  build: { concurrency: number; timeoutMs: number; memory: string };
  /** Loopback port of the platform registry; 0 picks a free one at each start (image refs do not store it). */
  registryPort: number;
  /** Release images kept in the registry per app (older ones are pruned; rollback reaches only these). */
  keepReleases: number;
  /** Run the scheduler (off only for tests that drive agents by hand). */
  scheduler: boolean;
  /**
   * DNS servers (`IP` or `IP:PORT`, IPv6 as `[IP]:PORT`) that domain verification asks for TXT records; empty = the
   * system resolver (/etc/resolv.conf).
   */
  dnsResolvers: string[];
  /** Pushes (and builds) are refused while the data dir's filesystem has less free space than this. */
  minFreeBytes: number;
  /** Size cap of one app's stored log (two segments of half of it; the oldest lines go first). */
  appLogBytes: number;
  /** Size cap of one build's stored output (its last bytes are kept; the live stream has everything). */
  buildOutputBytes: number;
  /** Scheduled backups: minutes between two (0 = off), where the archives go, how many are kept. */
  backup: { intervalMinutes: number; dir: string; keep: number };
  /** Scheduled add-on backups: minutes between two of each add-on (0 = off), how many of each origin are kept. */
  addonBackup: { intervalMinutes: number; keep: number };
  /** Seconds without input or output after which an exec session (`ps:exec`, console) is ended. */
  execIdleTimeoutSeconds: number;
  /** Exec sessions one user may have open at once. */
  execMaxSessionsPerUser: number;
  dev: boolean;
}

/** True for what dns.Resolver#setServers accepts: an IP address, optionally with a port (IPv6 in brackets then). */
function isResolverAddress(v: string): boolean {
  if (net.isIP(v)) return true;
  const m = /^(?:\[([^\]]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(v);
  if (!m) return false;
  const ip = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  return (m[1] !== undefined ? net.isIPv6(ip) : net.isIPv4(ip)) && port >= 1 && port <= 65535;
}

/** Default data dir: /var/lib/berth as root, ~/.local/share/berth otherwise. */
function defaultDataDir(): string {
  if (process.getuid?.() === 0) return "/var/lib/berth";
  return path.join(os.homedir(), ".local", "share", "berth");
}

/** Parses the environment into a Config; throws with every problem listed on bad input. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`PORT=` in a unit file or compose) means "unset": without this, PORT= would coerce to 0
  // (a random port) and BERTH_DATA_DIR= would resolve to the current directory.
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(set);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.BERTH_DATA_DIR ?? defaultDataDir());
  if ((e.BERTH_ADMIN_EMAIL === undefined) !== (e.BERTH_ADMIN_PASSWORD === undefined)) {
    throw new Error("invalid configuration: set both BERTH_ADMIN_EMAIL and BERTH_ADMIN_PASSWORD, or neither");
  }
  if (e.BERTH_HTTPS_PORT !== 0 && e.BERTH_HTTPS_PORT === e.BERTH_ROUTER_PORT) {
    throw new Error("invalid configuration: BERTH_HTTPS_PORT and BERTH_ROUTER_PORT must differ");
  }
  if (e.BERTH_TLS_ISSUER === "internal" && (e.BERTH_ACME_EMAIL ?? e.BERTH_ACME_CA) !== undefined) {
    throw new Error("invalid configuration: BERTH_ACME_EMAIL and BERTH_ACME_CA apply only to BERTH_TLS_ISSUER=acme");
  }
  if (e.BERTH_ADMIN_PASSWORD !== undefined) {
    const problem = passwordProblem(e.BERTH_ADMIN_PASSWORD);
    if (problem) throw new Error(`invalid configuration: BERTH_ADMIN_PASSWORD: ${problem}`);
  }
  const dnsResolvers = e.BERTH_DNS_RESOLVER === undefined ? [] : e.BERTH_DNS_RESOLVER.split(",").map((r) => r.trim());
  const badResolver = dnsResolvers.find((r) => !isResolverAddress(r));
  if (badResolver !== undefined) {
    throw new Error(
      `invalid configuration: BERTH_DNS_RESOLVER: ${JSON.stringify(badResolver)} is not IP, IP:PORT or [IPv6]:PORT`,
    );
  }
  return {
    dataDir,
    databaseUrl: `file:${path.join(dataDir, "berth.db")}`,
    port: e.PORT,
    host: e.HOST,
    routerPort: e.BERTH_ROUTER_PORT,
    routerOutlives: e.BERTH_ROUTER_OUTLIVES === "on",
    routerThreads: e.BERTH_ROUTER_THREADS,
    httpsPort: e.BERTH_HTTPS_PORT,
    tlsIssuer: e.BERTH_TLS_ISSUER,
    acmeEmail: e.BERTH_ACME_EMAIL,
    acmeCa: e.BERTH_ACME_CA,
    domain: e.BERTH_DOMAIN,
    publicUrl: e.BERTH_PUBLIC_URL,
    admin:
      e.BERTH_ADMIN_EMAIL && e.BERTH_ADMIN_PASSWORD
        ? { email: e.BERTH_ADMIN_EMAIL.toLowerCase(), password: e.BERTH_ADMIN_PASSWORD }
        : undefined,
    logLevel: e.BERTH_LOG_LEVEL,
    loginAccountLimitPerHour: e.BERTH_LOGIN_ACCOUNT_LIMIT,
    loginIpLimitPerHour: e.BERTH_LOGIN_IP_LIMIT,
    signupOpen: e.BERTH_SIGNUP === "open",
    deployBranches: e.BERTH_DEPLOY_BRANCHES.split(","),
    build: {
      concurrency: e.BERTH_BUILD_CONCURRENCY,
      timeoutMs: e.BERTH_BUILD_TIMEOUT * 1000,
      memory: e.BERTH_BUILD_MEMORY,
    },
    registryPort: e.BERTH_REGISTRY_PORT,
    keepReleases: e.BERTH_KEEP_RELEASES,
    scheduler: e.BERTH_SCHEDULER === "on",
    dnsResolvers,
    minFreeBytes: e.BERTH_MIN_FREE_MB * 1024 * 1024,
    appLogBytes: Math.round(e.BERTH_APP_LOG_MB * 1024 * 1024),
    buildOutputBytes: e.BERTH_BUILD_OUTPUT_KB * 1024,
    backup: {
      intervalMinutes: e.BERTH_BACKUP_INTERVAL,
      dir: path.resolve(e.BERTH_BACKUP_DIR ?? path.join(dataDir, "backups")),
      keep: e.BERTH_BACKUP_KEEP,
    },
    addonBackup: { intervalMinutes: e.BERTH_ADDON_BACKUP_INTERVAL, keep: e.BERTH_ADDON_BACKUP_KEEP },
    execIdleTimeoutSeconds: e.BERTH_EXEC_IDLE_TIMEOUT,
    execMaxSessionsPerUser: e.BERTH_EXEC_MAX_SESSIONS,
    dev: e.NODE_ENV === "development",
  };
}
