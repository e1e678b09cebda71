// Agent configuration from flags (`--state-dir=/x`) and environment (`BERTH_STATE_DIR`); flags win.
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { isIpv4Cidr } from "../runtime/network-policy.ts";
import { parseIdRange } from "../runtime/id-ranges.ts";

const OPTIONS = {
  "control-plane": "BERTH_CONTROL_PLANE_URL",
  "join-token": "BERTH_JOIN_TOKEN",
  "state-dir": "BERTH_STATE_DIR",
  "runc-root": "BERTH_RUNC_ROOT",
  "storage-root": "BERTH_STORAGE_ROOT",
  "storage-run-root": "BERTH_STORAGE_RUN_ROOT",
  "cni-network": "BERTH_CNI_NETWORK",
  "cni-bridge": "BERTH_CNI_BRIDGE",
  subnet: "BERTH_BRIDGE_SUBNET",
  "cgroup-parent": "BERTH_CGROUP_PARENT",
  "name-prefix": "BERTH_NAME_PREFIX",
  "node-name": "BERTH_NODE_NAME",
  "node-address": "BERTH_NODE_ADDRESS",
  "host-ip": "BERTH_HOST_IP",
  "host-ports": "BERTH_HOST_PORTS",
  "tick-ms": "BERTH_TICK_MS",
  "stats-interval-ms": "BERTH_STATS_INTERVAL_MS",
  "ip-masq": "BERTH_IP_MASQ",
  "insecure-registries": "BERTH_INSECURE_REGISTRIES",
  "registry-auth-file": "BERTH_REGISTRY_AUTH_FILE",
  "router-sources": "BERTH_ROUTER_SOURCES",
  "public-ports": "BERTH_PUBLIC_PORTS",
  "run-dir": "BERTH_RUN_DIR",
  userns: "BERTH_USERNS",
  "userns-range": "BERTH_USERNS_RANGE",
  "disk-limits": "BERTH_DISK_LIMITS",
} as const;
type Key = keyof typeof OPTIONS;

/** Default host ids for user namespaces: 16,384 blocks of 65,536 from 1,000,000 (up to 1,074,741,823). */
export const DEFAULT_USERNS_RANGE = "1000000-1074741823";

/** Parsed agent configuration. */
export const AgentConfig = z.strictObject({
  controlPlane: z.url({ protocol: /^(https?|wss?)$/ }),
  joinToken: z.string().min(16).max(256),
  stateDir: z.string().startsWith("/"),
  runcRoot: z.string().startsWith("/"),
  storageRoot: z.string().startsWith("/"),
  storageRunRoot: z.string().startsWith("/"),
  cniNetwork: z.string(),
  cniBridge: z.string(),
  subnet: z.string(),
  cgroupParent: z.string().startsWith("/"),
  namePrefix: z.string(),
  nodeName: z.string().optional(),
  nodeAddress: z.string().optional(),
  hostIp: z.string().optional(),
  hostPorts: z.object({ min: z.int().min(1024), max: z.int().max(65_535) }),
  tickMs: z.int().min(100).max(60_000),
  /** Interval of `node.stats` samples. */
  statsIntervalMs: z.int().min(1_000).max(60_000),
  /** Masquerade outbound container traffic (default on). */
  ipMasq: z.boolean(),
  /** host:port of registries pulled from over plain HTTP (comma-separated in the env). */
  insecureRegistries: z.array(z.string()),
  registryAuthFile: z.string().startsWith("/").optional(),
  /**
   * Who may connect to published ports from outside the node (the router's addresses): IPv4 addresses/CIDRs, or
   * "any". Unset: the addresses the control plane's host name resolves to (the router runs beside it).
   */
  routerSources: z
    .union([z.literal("any"), z.array(z.string().refine(isIpv4Cidr, { message: "not an IPv4 address or CIDR" }))])
    .optional(),
  /** TCP ports of this node its instances may connect to: the router's, when it runs here (single-machine mode). */
  publicPorts: z.array(z.int().min(1).max(65_535)).max(16),
  /** Rootfs mount points and platform files (searchable by others); default `containers` beside the runc root. */
  runDir: z.string().startsWith("/").optional(),
  /** User namespaces for containers (default on; off only for kernels that cannot). */
  userNamespaces: z.boolean(),
  /** Host ids the per-team blocks are cut from. */
  usernsRange: z.strictObject({ firstId: z.int(), blocks: z.int() }),
  /** Size-limited writable layers (default on). */
  diskLimits: z.boolean(),
});
export type AgentConfig = z.infer<typeof AgentConfig>;

function parseSources(value: string | undefined): "any" | string[] | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return v === "any"
    ? "any"
    : v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
}

/** Reads flags and env; throws a one-line message on a missing or invalid value. */
export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: "string" as const }])),
    strict: true,
  });
  const get = (k: Key): string | undefined => (values as Record<string, string | undefined>)[k] ?? env[OPTIONS[k]];
  const stateDir = get("state-dir") ?? "/var/lib/berth-agent";
  const [min, max] = (get("host-ports") ?? "20000-29999").split("-").map(Number);
  const onOff = (k: Key, dflt: boolean): boolean => {
    const v = (get(k) ?? (dflt ? "on" : "off")).toLowerCase();
    if (["on", "true", "1"].includes(v)) return true;
    if (["off", "false", "0"].includes(v)) return false;
    throw new Error(`invalid agent configuration: ${k}: expected on or off, got ${JSON.stringify(v)}`);
  };
  let usernsRange;
  try {
    usernsRange = parseIdRange(get("userns-range") ?? DEFAULT_USERNS_RANGE);
  } catch (err) {
    throw new Error(`invalid agent configuration: userns-range: ${err instanceof Error ? err.message : String(err)}`);
  }
  const input = {
    controlPlane: get("control-plane"),
    joinToken: get("join-token"),
    stateDir,
    runcRoot: get("runc-root") ?? "/run/berth/runc",
    storageRoot: get("storage-root") ?? path.join(stateDir, "storage"),
    storageRunRoot: get("storage-run-root") ?? "/run/berth/storage",
    cniNetwork: get("cni-network") ?? "berth",
    cniBridge: get("cni-bridge") ?? "berth0",
    subnet: get("subnet") ?? "10.88.0.0/16",
    cgroupParent: get("cgroup-parent") ?? "/berth",
    namePrefix: get("name-prefix") ?? "berth-",
    nodeName: get("node-name"),
    nodeAddress: get("node-address"),
    hostIp: get("host-ip"),
    hostPorts: { min, max },
    tickMs: Number(get("tick-ms") ?? 1000),
    statsIntervalMs: Number(get("stats-interval-ms") ?? 5000),
    ipMasq: (get("ip-masq") ?? "true") !== "false",
    insecureRegistries: (get("insecure-registries") ?? "").split(",").filter(Boolean),
    registryAuthFile: get("registry-auth-file"),
    routerSources: parseSources(get("router-sources")),
    publicPorts: (get("public-ports") ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean)
      .map(Number),
    runDir: get("run-dir"),
    userNamespaces: onOff("userns", true),
    usernsRange,
    diskLimits: onOff("disk-limits", true),
  };
  const parsed = AgentConfig.safeParse(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid agent configuration: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}
