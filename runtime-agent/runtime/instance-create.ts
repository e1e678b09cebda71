// Everything create() does between the instance's first record and conmon reporting the container created: image,
// user + network namespace, rootfs (one overlay over the image's unpacked layers), CNI, platform files, volumes, the
// OCI spec, conmon + runc create. Each step records in meta.json what it is about to create before it does, so a
// failure at any point (or a crash of the agent) leaves nothing teardown.ts cannot find.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { buildSpec } from "../oci/spec.ts";
import { mergeEnv } from "../oci/env.ts";
import { resolveImageUser } from "../oci/user.ts";
import type { ContainerConfig } from "./backend.ts";
import type { Cni, PortMapping } from "./cni.ts";
import type { OciBackendConfig } from "./config.ts";
import { startConmon } from "./conmon.ts";
import { RuntimeError } from "./errors.ts";
import { ensureSearchable } from "./host-dirs.ts";
import type { IdRange, IdRangeAllocator } from "./id-ranges.ts";
import type { IdmappedLayers } from "./idmapped-layers.ts";
import type { ImageStore, ResolvedImage } from "./image-store.ts";
import type { InstanceMeta, InstanceStore } from "./instance-store.ts";
import type { KeyedLock } from "./keyed-lock.ts";
import type { LayerImagePool } from "./layer-image-pool.ts";
import type { Mounter } from "./mounts.ts";
import type { NetnsManager } from "./netns.ts";
import type { NetworkPolicy } from "./network-policy-applier.ts";
import { hostsFile, resolvConf } from "./platform-files.ts";
import { readRootfsFile } from "./rootfs-read.ts";
import type { Runc } from "./runc.ts";
import { createUsernsAndNetns } from "./userns.ts";
import type { VolumeStore } from "./volumes.ts";
import { createWritableLayer, mountRootfs } from "./writable-layer.ts";

export interface CreateDeps {
  config: OciBackendConfig;
  store: InstanceStore;
  images: ImageStore;
  idmapped: IdmappedLayers;
  idRanges: IdRangeAllocator | null;
  cni: Cni;
  netns: NetnsManager;
  mounter: Mounter;
  runc: Runc;
  network: NetworkPolicy | undefined;
  volumeStore: VolumeStore;
  volumeLocks: KeyedLock;
  nameservers: string[];
  nofile: number;
  cgroupVersion: 1 | 2;
  log: Logger;
  /** Formatted writable-layer images kept ready (undefined: every start formats its own). */
  layerPool?: LayerImagePool;
  /** Called with each create step's wall time (benchmarks' per-step breakdown); undefined = not timed. */
  onStep?: StepTimer;
}

/** Receives one create/start step's name and wall time in ms. */
export type StepTimer = (step: string, ms: number) => void;

/** Runs `fn` and reports its wall time to `onStep` (when set) as `name`. */
export async function timed<T>(onStep: StepTimer | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  if (!onStep) return fn();
  const t = performance.now();
  try {
    return await fn();
  } finally {
    onStep(name, performance.now() - t);
  }
}

export function portMappings(meta: Pick<InstanceMeta, "port" | "hostPort">): PortMapping[] {
  return meta.port !== undefined && meta.hostPort !== undefined
    ? [{ hostPort: meta.hostPort, containerPort: meta.port, protocol: "tcp" }]
    : [];
}

/** Prepares and creates the container of `config`, whose record (`meta`, stage `preparing`) exists. */
export async function prepareAndCreate(d: CreateDeps, config: ContainerConfig, meta: InstanceMeta): Promise<void> {
  const { id } = config;
  const { store } = d;
  const step = <T>(name: string, fn: () => Promise<T>) => timed(d.onStep, name, fn);
  const image = await step("image", () => d.images.resolve(config.image));
  const args = config.command ?? [...image.config.entrypoint, ...image.config.cmd];
  const range = d.idRanges
    ? await step("id range", () => (d.idRanges as IdRangeAllocator).rangeFor(config.team))
    : null;
  // One record write for everything the next steps may create (teardown tolerates any of it missing): each write is
  // a file write + rename on the hot path.
  meta.imageId = image.id;
  if (range) {
    meta.idRange = range;
    meta.userns = true;
  }
  meta.cniAttached = true;
  meta.writableLayer = true;
  if (d.config.diskLimits) meta.diskBytes = config.limits.diskBytes;
  await store.writeMeta(meta);
  if (args.length === 0) throw new RuntimeError("invalid", `image ${config.image} has no command and none was given`);
  if (range) await store.openContainerDir(id, range.hostId);
  // Three branches side by side (each mostly waits on host tools): the namespaces, then the network in them; the
  // writable layer, then (once the user namespace exists: the layers are idmapped with its mapping) the overlay. Only
  // the network branch writes the record meanwhile (one writer: writeMeta renames a fixed temp file); all are settled
  // before an error is thrown, so cleanup never races a step still running.
  const namespaces = step("namespaces", () => networkNamespace(d, meta, range));
  const [rootfs, network] = await Promise.allSettled([
    prepareRootfs(d, config, image, range, namespaces),
    (async () => {
      const netnsPath = await namespaces;
      const attachment = await step("cni add", () =>
        d.cni.add(id, netnsPath, portMappings(meta), { bitsPerSec: config.limits.bandwidthBitsPerSec }, d.onStep),
      );
      meta.ip = attachment.ip;
      meta.cniResult = attachment.result;
      await store.writeMeta(meta);
      return { attachment, netnsPath };
    })(),
  ]);
  if (rootfs.status === "rejected") throw rootfs.reason;
  if (network.status === "rejected") throw network.reason;
  const { attachment, netnsPath } = network.value;
  // The team's rules must exist before the instance's process does (runc start); until then it could reach no other
  // instance anyway. So the rebuild (an iptables-restore) runs beside the rest of create instead of before it.
  const policy = step("network policy", async () => d.network?.refresh());
  policy.catch(() => undefined);
  try {
    await createContainer(d, config, meta, image, args, range, rootfs.value, attachment.ip, netnsPath, step);
  } finally {
    await policy.catch(() => undefined);
  }
  await policy;
  meta.stage = "created";
  await store.writeMeta(meta);
}

/** Platform files, the image user, volumes, the OCI spec and conmon + runc create, on a prepared rootfs and network. */
async function createContainer(
  d: CreateDeps,
  config: ContainerConfig,
  meta: InstanceMeta,
  image: ResolvedImage,
  args: string[],
  range: IdRange | null,
  rootfsPath: string,
  ip: string,
  netnsPath: string,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const { id } = config;
  const { store } = d;
  meta.rootfs = rootfsPath;
  await store.writeMeta(meta);
  const hosts = store.platformFile(id, "hosts");
  const resolv = store.platformFile(id, "resolv.conf");
  const [, , passwd, group] = await step("platform files", () =>
    Promise.all([
      fs.writeFile(hosts, hostsFile(id, ip), { mode: 0o644 }),
      fs.writeFile(resolv, resolvConf(d.nameservers), { mode: 0o644 }),
      readRootfsFile(rootfsPath, "etc/passwd"),
      readRootfsFile(rootfsPath, "etc/group"),
    ]),
  );
  const user = resolveImageUser(image.config.user, passwd, group);
  if (range) {
    for (const n of [user.uid, user.gid, ...user.additionalGids]) {
      if (n >= range.size)
        throw new RuntimeError("invalid", `image user/group id ${n} is outside the container's ${range.size} ids`);
    }
  }
  const volumes = await attachVolumes(d, config, meta, user, range);
  const mapping = range ? [{ containerID: 0, hostID: range.hostId, size: range.size }] : null;
  const spec = buildSpec({
    id,
    rootfs: rootfsPath,
    args,
    env: mergeEnv(image.config.env, config.env, config.port),
    cwd: image.config.workingDir.startsWith("/") ? image.config.workingDir : "/",
    user,
    netnsPath,
    cgroupParent: d.config.cgroupParent,
    limits: config.limits,
    cgroupVersion: d.cgroupVersion,
    platformFiles: { hosts, resolvConf: resolv },
    ...(volumes.length ? { volumes } : {}),
    ...(mapping
      ? {
          userNamespace: {
            path: store.file(id, "userns"),
            uidMappings: mapping,
            gidMappings: mapping.map((m) => ({ ...m })),
          },
        }
      : {}),
    arch: process.arch,
    nofile: d.nofile,
  });
  await fs.writeFile(`${store.bundle(id)}/config.json`, JSON.stringify(spec), { mode: 0o600 });
  await step("conmon + runc create", () =>
    startConmon({
      conmonPath: d.config.conmonPath,
      runcPath: d.config.runcPath,
      runtimeArgs: d.runc.globalArgs(),
      id,
      bundleDir: store.bundle(id),
      pidFile: store.file(id, "pid"),
      conmonPidFile: store.file(id, "conmon.pid"),
      logPath: store.file(id, "container.log"),
      logSizeMaxBytes: d.config.logSizeMaxBytes,
      exitDir: store.exitDir,
      persistDir: store.persistDir(id),
      socketDir: store.socketDir,
      conmonLogPath: store.file(id, "conmon.log"),
      timeoutMs: d.config.createTimeoutMs,
    }),
  );
}

/**
 * The instance's network namespace: with a user namespace, created together with it (owned by it, see userns.ts);
 * else a plain named netns. Returns its path. The record says so (`cniAttached`, `userns`) before this runs.
 */
async function networkNamespace(d: CreateDeps, meta: InstanceMeta, range: IdRange | null): Promise<string> {
  if (!range) return d.netns.add(meta.netns);
  return createUsernsAndNetns(
    { unsharePath: d.config.unsharePath, ipPath: d.config.ipPath, mounter: d.mounter },
    meta.netns,
    d.store.file(meta.id, "userns"),
    range,
  );
}

/**
 * The rootfs runc gets, in the run dir: an overlay of the image's layers (idmapped into the team's range under a user
 * namespace) under the instance's writable layer, size-limited when the node has disk limits (writable-layer.ts).
 * The record says so (`writableLayer`) before this runs; it writes no record itself (it runs beside the network).
 */
async function prepareRootfs(
  d: CreateDeps,
  config: ContainerConfig,
  image: ResolvedImage,
  range: IdRange | null,
  namespaces: Promise<unknown>,
): Promise<string> {
  const step = <T>(name: string, fn: () => Promise<T>) => timed(d.onStep, name, fn);
  const paths = {
    image: d.store.file(config.id, "disk.img"),
    layerDir: d.store.layerDir(config.id),
    rootfs: d.store.rootfsDir(config.id),
  };
  try {
    await step("writable layer", async () =>
      createWritableLayer(
        {
          mkfsPath: d.config.mkfsPath,
          mounter: d.mounter,
          ...(d.layerPool ? { pool: d.layerPool } : {}),
          ...(d.onStep ? { onStep: d.onStep } : {}),
        },
        paths,
        {
          sizeBytes: d.config.diskLimits ? config.limits.diskBytes : null,
          rootUid: range?.hostId ?? 0,
          rootGid: range?.hostId ?? 0,
          rootMode: (await fs.stat(image.layers[0] ?? "/")).mode,
        },
      ),
    );
  } finally {
    // Settled before this branch ends either way (its failure is the other branch's to report).
    await namespaces.catch(() => undefined);
  }
  await namespaces;
  if (!range) {
    await step("overlay", () => mountRootfs(d.mounter, paths, image.layers));
    return paths.rootfs;
  }
  // Under the range's lock: garbage collection of unused mapped layers (idmapped-layers.ts) takes it too.
  await d.idmapped.locks.run(String(range.hostId), async () => {
    const lowers = await d.idmapped.ensure(range.hostId, image.links, image.layers, d.store.file(config.id, "userns"));
    await step("overlay", () => mountRootfs(d.mounter, paths, lowers));
  });
  return paths.rootfs;
}

/**
 * Creates (first use) and mounts the instance's volumes on the node; returns the bind mounts for its spec. A volume
 * created now is given to the image's user (host ids shifted into the team's range under a user namespace), so a
 * non-root app can write it. Recorded in the instance's meta first, so a destroy never races the mount.
 */
async function attachVolumes(
  d: CreateDeps,
  config: ContainerConfig,
  meta: InstanceMeta,
  user: { uid: number; gid: number },
  range: IdRange | null,
): Promise<{ source: string; destination: string }[]> {
  const volumes = config.volumes ?? [];
  if (volumes.length === 0) return [];
  meta.volumes = volumes.map((v) => v.id);
  await d.store.writeMeta(meta);
  const mounts: { source: string; destination: string }[] = [];
  for (const v of volumes) {
    await d.volumeLocks.run(v.id, async () => {
      const { created } = await d.volumeStore.ensure(v.id, config.team, v.sizeBytes);
      if (created) await d.volumeStore.giveTo(v.id, (range?.hostId ?? 0) + user.uid, (range?.hostId ?? 0) + user.gid);
    });
    mounts.push({ source: d.volumeStore.mountPoint(v.id), destination: v.path });
  }
  // runc resolves the bind sources as the container's root: the directories above the store must let it pass.
  if (range) await ensureSearchable(path.join(d.volumeStore.root, "x"), d.log);
  return mounts;
}
