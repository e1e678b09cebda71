// Configuration of the real (OCI) backend. Every host-global name (runc root, storage roots, CNI network,
// bridge, netns prefix, cgroup parent) is configurable so two agents can share one machine.
import { z } from "zod";
import { isIpv4Cidr } from "./network-policy.ts";

const AbsPath = z
  .string()
  .regex(/^\/(?:[A-Za-z0-9._@+-]+\/?)*$/, { message: "must be an absolute path of plain characters" })
  .refine((p) => !p.split("/").includes(".."), { message: "must not contain .." });

/** Linux interface names: at most 15 characters. */
const IfName = z.string().regex(/^[a-z][a-z0-9-]{0,14}$/, { message: "invalid interface name (max 15 chars)" });
const Cidr4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/, { message: "invalid IPv4 CIDR" });
const Ipv4OrCidr = z.string().refine(isIpv4Cidr, { message: "invalid IPv4 address or CIDR" });

export const OciBackendConfig = z.strictObject({
  /** Agent state: one directory per instance (bundle, meta, hosts, logs), exit files, conmon sockets. */
  stateDir: AbsPath,
  runcPath: AbsPath.default("/usr/sbin/runc"),
  conmonPath: AbsPath.default("/usr/bin/conmon"),
  buildahPath: AbsPath.default("/usr/bin/buildah"),
  ipPath: AbsPath.default("/usr/sbin/ip"),
  mountPath: AbsPath.default("/usr/bin/mount"),
  umountPath: AbsPath.default("/usr/bin/umount"),
  unsharePath: AbsPath.default("/usr/bin/unshare"),
  /** Runs the pty receiver of exec sessions with a terminal (runtime/exec-tty-relay.ts). */
  python3Path: AbsPath.default("/usr/bin/python3"),
  mkfsPath: AbsPath.default("/usr/sbin/mkfs.ext4"),
  /** GNU tar: archives and restores volumes (volume-archive.ts). */
  tarPath: AbsPath.default("/usr/bin/tar"),
  /** runc --root: where runc keeps container state. */
  runcRoot: AbsPath,
  /**
   * What the container itself must reach (rootfs mount points, hosts, resolv.conf): one directory per instance,
   * root:<container root's host gid> 0710. With user namespaces, runc resolves these paths as container root (an
   * unprivileged host id), so the run dir (0711) and its parents must be searchable; it is kept apart from the state
   * dir (which stays 0700). Default: `containers` beside runcRoot.
   */
  runDir: AbsPath.optional(),
  /**
   * User namespaces (default on): container root maps to a per-team block of 65,536 host ids cut from
   * `firstId` onwards (`blocks` of them). Off only for kernels that cannot (the node reports the mode).
   */
  userNamespaces: z
    .strictObject({
      enabled: z.boolean().default(true),
      firstId: z.int().min(65_536).default(1_000_000),
      blocks: z.int().min(1).max(60_000).default(16_384),
    })
    .refine((u) => u.firstId + u.blocks * 65_536 <= 0xfffffffe, { message: "user namespace range ends past 2^32-2" })
    .default({ enabled: true, firstId: 1_000_000, blocks: 16_384 }),
  /** Size-limited writable layers (a loop-mounted ext4 per instance, size = limits.diskBytes); default on. */
  diskLimits: z.boolean().default(true),
  storage: z.strictObject({
    root: AbsPath,
    runRoot: AbsPath,
    /** The start path mounts the layers itself as an overlay (image-store.ts), so only the overlay driver works. */
    driver: z.literal("overlay").default("overlay"),
    /** TLS verification when pulling (off only for the loopback platform registry). */
    tlsVerify: z.boolean().default(true),
    /** Registries (host:port) pulled from over plain HTTP: the platform registry on loopback in single-machine mode. */
    insecureRegistries: z.array(z.string().regex(/^[a-z0-9.-]+(:[0-9]{1,5})?$/i)).default([]),
    /** containers-auth.json with credentials for the platform registry (never passed in argv). */
    authFile: AbsPath.optional(),
  }),
  cni: z.strictObject({
    pluginDir: AbsPath.default("/usr/lib/cni"),
    networkName: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/),
    bridge: IfName,
    subnet: Cidr4,
    /** host-local IPAM lease directory. */
    dataDir: AbsPath,
    /** Masquerade outbound traffic from containers. */
    ipMasq: z.boolean().default(true),
    /**
     * Host address mapped ports listen on; empty = every address. Single-machine mode uses the bridge gateway: the
     * node itself reaches it, nothing outside does (the policy refuses forwarded connections to it).
     */
    hostIp: z
      .string()
      .regex(/^(\d{1,3}\.){3}\d{1,3}$/)
      .optional(),
  }),
  /** The node's network policy (runtime/network-policy.ts): default deny between teams, node and metadata. */
  networkPolicy: z
    .strictObject({
      /** Off only to measure its cost (bench/agent.ts); the agent always runs with it. */
      enabled: z.boolean().default(true),
      /** Who may connect to published ports from outside the node: IPv4 addresses/CIDRs, or "any". */
      routerSources: z.union([z.literal("any"), z.array(Ipv4OrCidr).max(64)]).default([]),
      /** TCP ports of the node open to instances (the router's, when it runs on this node). */
      publicPorts: z.array(z.int().min(1).max(65_535)).max(16).default([]),
    })
    .default({ enabled: true, routerSources: [], publicPorts: [] }),
  /** Prefix of named netns (/var/run/netns/<prefix><id>) and buildah container names. */
  namePrefix: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,15}$/)
    .default("berth-"),
  /** cgroup parent, e.g. /berth; each instance gets <parent>/<id> in every hierarchy. */
  cgroupParent: AbsPath.default("/berth"),
  /** Nameservers written into each container's resolv.conf (default: the host's non-loopback ones). */
  dns: z
    .array(z.string().regex(/^[0-9a-fA-F:.]{2,45}$/))
    .max(3)
    .optional(),
  logSizeMaxBytes: z
    .int()
    .min(64 * 1024)
    .default(10 * 1024 * 1024),
  /** How long conmon + runc create may take. */
  createTimeoutMs: z.int().min(1_000).default(60_000),
});
export type OciBackendConfig = z.infer<typeof OciBackendConfig>;
export type OciBackendConfigInput = z.input<typeof OciBackendConfig>;
