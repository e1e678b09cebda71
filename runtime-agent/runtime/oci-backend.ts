// The real RuntimeBackend: rootfs from containers/storage (buildah), network from CNI in a named netns, the
// container run by conmon + runc with the spec from oci/spec.ts. All host state an instance creates is recorded in
// its meta.json before it is created, so delete() can always take it down again.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { buildSpec } from "../oci/spec.ts";
import { mergeEnv } from "../oci/env.ts";
import { resolveImageUser } from "../oci/user.ts";
import type { InstanceStats } from "../protocol/notifications.ts";
import type { VolumeUsage } from "../protocol/methods.ts";
import type {
  ContainerConfig,
  ContainerConfigInput,
  ContainerInfo,
  ExecRequest,
  RuntimeBackend,
  Signal,
  VolumeOps,
} from "./backend.ts";
import { readCgroupUsage, readNetDev } from "./cgroups.ts";
import { Cni, type PortMapping } from "./cni.ts";
import { OciBackendConfig, type OciBackendConfigInput } from "./config.ts";
import { startConmon } from "./conmon.ts";
import { RuntimeError } from "./errors.ts";
import { type ExecProcess, startExec } from "./exec-process.ts";
import { type IdRange, IdRangeAllocator } from "./id-ranges.ts";
import { type InstanceMeta, InstanceStore } from "./instance-store.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { Mounter, mountPointsUnder } from "./mounts.ts";
import { collectNetworkGarbage, type NetworkGarbage } from "./network-gc.ts";
import { NetnsManager } from "./netns.ts";
import { gatewayOf, type PolicyMember } from "./network-policy.ts";
import { NetworkPolicy } from "./network-policy-applier.ts";
import { hostNameservers, hostsFile, resolvConf } from "./platform-files.ts";
import { readRootfsFile } from "./rootfs-read.ts";
import { Runc } from "./runc.ts";
import { Buildah } from "./storage.ts";
import { teardownInstance } from "./teardown.ts";
import { createUsernsAndNetns } from "./userns.ts";
import { checkConfig, checkId, checkSignal } from "./validate.ts";
import { VolumeStore } from "./volumes.ts";
import { createWritableLayer } from "./writable-layer.ts";

const KILL_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * With user namespaces, runc (as container root, an unprivileged host id) resolves the rootfs and platform-file paths
 * below the run dir, so every directory above it must be searchable by others. Root-owned ones missing that bit get
 * it (search only: nothing becomes listable or readable); anything else is a configuration error.
 */
async function ensureSearchable(dir: string, log: Logger): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = await fs.stat(d);
    if ((st.mode & 0o001) === 0) {
      if (st.uid !== 0)
        throw new RuntimeError(
          "invalid",
          `user namespaces need ${d} (above the run dir ${dir}) to be searchable by others (chmod o+x), ` +
            "or turn them off for this node (BERTH_USERNS=off)",
        );
      await fs.chmod(d, (st.mode & 0o7777) | 0o001);
      log.warn({ dir: d }, "made directory searchable (o+x) for user-namespaced containers");
    }
    if (d === "/") return;
  }
}

async function nofileHardLimit(): Promise<number> {
  const limits = await fs.readFile("/proc/self/limits", "utf8").catch(() => "");
  const hard = Number(/^Max open files\s+\d+\s+(\d+)/m.exec(limits)?.[1]);
  return Number.isFinite(hard) && hard > 0 ? Math.min(hard, 65_536) : 1024;
}

/** conmon + runc + CNI + containers/storage. Create with `OciBackend.open()`. */
export class OciBackend implements RuntimeBackend {
  readonly config: OciBackendConfig;
  readonly store: InstanceStore;
  readonly runc: Runc;
  readonly buildah: Buildah;
  readonly netns: NetnsManager;
  readonly mounter: Mounter;
  /** Per-team host id ranges; null when the node runs without user namespaces. */
  idRanges: IdRangeAllocator | null = null;
  private readonly cni: Cni;
  /** The node's network policy; undefined when disabled (benchmarks of its cost only). */
  private network: NetworkPolicy | undefined;
  private readonly locks = new KeyedLock();
  /** Persistent volumes of the node (see volumes.ts). */
  readonly volumeStore: VolumeStore;
  /** One create/destroy at a time per volume: two instances of a type may start together. */
  private readonly volumeLocks = new KeyedLock();
  private nameservers: string[] = [];
  private nofile = 1024;

  private constructor(
    config: OciBackendConfig,
    private readonly log: Logger,
  ) {
    this.config = config;
    this.store = new InstanceStore(config.stateDir, OciBackend.runDirOf(config));
    this.mounter = new Mounter(config.mountPath, config.umountPath);
    this.runc = new Runc(config.runcPath, config.runcRoot);
    this.buildah = new Buildah(config.buildahPath, config.storage);
    this.netns = new NetnsManager(config.ipPath);
    this.cni = new Cni({ ...config.cni }, log.child({ component: "cni" }));
    this.volumeStore = new VolumeStore(config.stateDir, { mkfsPath: config.mkfsPath, mounter: this.mounter });
  }

  /** The node's volumes: listed with their usage; destroyed only when no container of the node mounts them. */
  readonly volumes: VolumeOps = {
    list: async (): Promise<VolumeUsage[]> => {
      const ids = await this.volumeStore.ids();
      return Promise.all(ids.map(async (id) => ({ id, ...(await this.volumeStore.usage(id)) })));
    },
    destroy: (id: string): Promise<boolean> =>
      this.volumeLocks.run(id, async () => {
        this.volumeStore.dir(id); // validates the id before anything else
        const users = (await Promise.all((await this.store.ids()).map((i) => this.store.readMeta(i)))).filter((m) =>
          m?.volumes?.includes(id),
        );
        if (users.length > 0)
          throw new RuntimeError("conflict", `volume ${id} is mounted by ${users.map((m) => m?.id).join(", ")}`);
        return this.volumeStore.destroy(id);
      }),
  };

  /** Validates the config, creates the state directories and returns a ready backend. */
  static async open(input: OciBackendConfigInput, log: Logger): Promise<OciBackend> {
    const parsed = OciBackendConfig.safeParse(input);
    if (!parsed.success) throw new RuntimeError("invalid", `invalid backend config: ${parsed.error.message}`);
    const backend = new OciBackend(parsed.data, log.child({ component: "oci-backend" }));
    await backend.store.init();
    await fs.mkdir(parsed.data.runcRoot, { recursive: true, mode: 0o700 });
    const userns = parsed.data.userNamespaces;
    if (userns.enabled) {
      await ensureSearchable(backend.store.containersDir, backend.log);
      backend.idRanges = await IdRangeAllocator.open(path.join(parsed.data.stateDir, "id-ranges.json"), {
        firstId: userns.firstId,
        blocks: userns.blocks,
      });
    }
    await backend.sweepRunDir();
    backend.nameservers = parsed.data.dns ?? (await hostNameservers());
    backend.nofile = await nofileHardLimit();
    const { cni, networkPolicy } = parsed.data;
    if (networkPolicy.enabled) {
      backend.network = new NetworkPolicy(
        {
          bridge: cni.bridge,
          gateway: gatewayOf(cni.subnet),
          resolvers: backend.nameservers,
          routerSources: networkPolicy.routerSources,
          publicPorts: networkPolicy.publicPorts,
        },
        () => backend.policyMembers(),
        log.child({ component: "network-policy" }),
      );
    }
    return backend;
  }

  /**
   * Rebuilds the node's network policy from the instances' records and re-checks its hooks in INPUT/FORWARD. The
   * agent calls it once at start (rules survive an agent restart in the kernel; this repairs what changed meanwhile).
   * Opening a backend does not, so a second backend opened to inspect a node changes nothing.
   */
  async syncNetworkPolicy(): Promise<void> {
    await this.network?.sync();
  }

  /**
   * Removes portmap rules, IPAM leases and network namespaces of containers that no longer exist (see
   * network-gc.ts). Live: a record in this store or a container runc knows (tests share a runc root between backends).
   */
  async collectNetworkGarbage(): Promise<NetworkGarbage> {
    return collectNetworkGarbage({
      network: this.config.cni.networkName,
      ipamDataDir: this.config.cni.dataDir,
      namePrefix: this.config.namePrefix,
      netns: this.netns,
      liveIds: async () => new Set([...(await this.store.ids()), ...(await this.runc.list()).map((c) => c.id)]),
      log: this.log,
    });
  }

  /** The instances the network policy is for: every record with an address that is not being torn down. */
  private async policyMembers(): Promise<PolicyMember[]> {
    const metas = await Promise.all((await this.store.ids()).map((id) => this.store.readMeta(id)));
    return metas.flatMap((m) => (m?.ip && !m.networkRemoved ? [{ id: m.id, ip: m.ip, team: m.team }] : []));
  }

  /** The run dir a config resolves to (default: `containers` beside the runc root). */
  static runDirOf(config: OciBackendConfig): string {
    return config.runDir ?? path.join(path.dirname(config.runcRoot), "containers");
  }

  /** True when containers get user namespaces (the mode the node reports). */
  get userNamespaces(): boolean {
    return this.idRanges !== null;
  }

  /**
   * Run-dir entries without an instance directory and without a runc container are leftovers of a record lost in a
   * crash: unmount and remove them (the instance directory is what create, delete and re-adoption work from). A live
   * runc container keeps its entry: another backend sharing this runc root (tests do) may own it.
   */
  private async sweepRunDir(): Promise<void> {
    const known = new Set(await this.store.ids());
    for (const id of await this.store.containerDirIds()) {
      if (known.has(id) || (await this.runc.state(id).catch(() => null))) continue;
      try {
        for (const m of (await mountPointsUnder(this.store.containerDir(id))).reverse()) await this.mounter.unmount(m);
        await fs.rm(this.store.containerDir(id), { recursive: true, force: true });
      } catch (err) {
        this.log.warn({ err, id }, "could not remove a leftover run-dir entry");
      }
    }
  }

  /** Name of the instance's netns and buildah container. */
  hostName(id: string): string {
    return `${this.config.namePrefix}${checkId(id)}`;
  }

  async create(input: ContainerConfigInput): Promise<ContainerInfo> {
    const config = checkConfig(input);
    return this.locks.run(config.id, async () => {
      try {
        await this.store.createDir(config.id);
      } catch (err) {
        throw new RuntimeError("conflict", `container ${config.id} already exists`, { cause: err });
      }
      const meta: InstanceMeta = {
        id: config.id,
        team: config.team,
        app: config.app,
        release: config.release,
        processType: config.processType,
        image: config.image,
        createdAt: new Date().toISOString(),
        stage: "preparing",
        netns: this.hostName(config.id),
        storageName: this.hostName(config.id),
        cgroupPath: `${this.config.cgroupParent}/${config.id}`,
        cniAttached: false,
        userns: false,
        writableLayer: false,
        ...(config.port !== undefined ? { port: config.port } : {}),
        ...(config.hostPort !== undefined ? { hostPort: config.hostPort } : {}),
      };
      try {
        await this.store.writeMeta(meta);
        await this.prepareAndCreate(config, meta);
      } catch (err) {
        this.log.warn({ err, id: config.id }, "create failed; cleaning up");
        await this.cleanup(config.id).catch((cleanupErr: unknown) =>
          this.log.error({ err: cleanupErr, id: config.id }, "cleanup after failed create failed"),
        );
        throw err;
      }
      return (await this.info(config.id)) as ContainerInfo;
    });
  }

  private async prepareAndCreate(config: ContainerConfig, meta: InstanceMeta): Promise<void> {
    const { id } = config;
    await this.buildah.ensureImage(config.image);
    const range = this.idRanges ? await this.idRanges.rangeFor(config.team) : null;
    if (range) {
      meta.idRange = range;
      await this.store.writeMeta(meta);
      await this.store.openContainerDir(id, range.hostId);
    }
    // With a user namespace, containers/storage presents the image layers shifted into the team's range (idmapped
    // mounts of the shared layers on this kernel: no copy), so files keep their owners as the container sees them.
    await this.buildah.from(meta.storageName, config.image, range ?? undefined);
    meta.imageRootfs = await this.buildah.mount(meta.storageName);
    await this.store.writeMeta(meta);
    const image = await this.buildah.imageConfig(meta.storageName);
    const args = config.command ?? [...image.entrypoint, ...image.cmd];
    if (args.length === 0) throw new RuntimeError("invalid", `image ${config.image} has no command and none was given`);
    meta.rootfs = await this.prepareRootfs(config, meta, meta.imageRootfs, range);
    await this.store.writeMeta(meta);

    const netnsPath = await this.networkNamespace(meta, range);
    const attachment = await this.cni.add(id, netnsPath, this.ports(meta), {
      bitsPerSec: config.limits.bandwidthBitsPerSec,
    });
    meta.ip = attachment.ip;
    meta.cniResult = attachment.result;
    await this.store.writeMeta(meta);
    // Its team's rules exist before its process does; until then it could reach no other instance anyway.
    await this.network?.refresh();

    const hosts = this.store.platformFile(id, "hosts");
    const resolv = this.store.platformFile(id, "resolv.conf");
    await fs.writeFile(hosts, hostsFile(id, attachment.ip), { mode: 0o644 });
    await fs.writeFile(resolv, resolvConf(this.nameservers), { mode: 0o644 });
    const user = resolveImageUser(
      image.user,
      await readRootfsFile(meta.rootfs, "etc/passwd"),
      await readRootfsFile(meta.rootfs, "etc/group"),
    );
    if (range) {
      for (const n of [user.uid, user.gid, ...user.additionalGids]) {
        if (n >= range.size)
          throw new RuntimeError("invalid", `image user/group id ${n} is outside the container's ${range.size} ids`);
      }
    }
    const volumes = await this.attachVolumes(config, meta, user, range);
    const mapping = range ? [{ containerID: 0, hostID: range.hostId, size: range.size }] : null;
    const spec = buildSpec({
      id,
      rootfs: meta.rootfs,
      args,
      env: mergeEnv(image.env, config.env, config.port),
      cwd: image.workingDir.startsWith("/") ? image.workingDir : "/",
      user,
      netnsPath,
      cgroupParent: this.config.cgroupParent,
      limits: config.limits,
      platformFiles: { hosts, resolvConf: resolv },
      ...(volumes.length ? { volumes } : {}),
      ...(mapping
        ? {
            userNamespace: {
              path: this.store.file(id, "userns"),
              uidMappings: mapping,
              gidMappings: mapping.map((m) => ({ ...m })),
            },
          }
        : {}),
      arch: process.arch,
      nofile: this.nofile,
    });
    await fs.writeFile(`${this.store.bundle(id)}/config.json`, JSON.stringify(spec), { mode: 0o600 });
    await startConmon({
      conmonPath: this.config.conmonPath,
      runcPath: this.config.runcPath,
      runtimeArgs: this.runc.globalArgs(),
      id,
      bundleDir: this.store.bundle(id),
      pidFile: this.store.file(id, "pid"),
      conmonPidFile: this.store.file(id, "conmon.pid"),
      logPath: this.store.file(id, "container.log"),
      logSizeMaxBytes: this.config.logSizeMaxBytes,
      exitDir: this.store.exitDir,
      persistDir: this.store.persistDir(id),
      socketDir: this.store.socketDir,
      conmonLogPath: this.store.file(id, "conmon.log"),
      timeoutMs: this.config.createTimeoutMs,
    });
    meta.stage = "created";
    await this.store.writeMeta(meta);
  }

  /**
   * Creates (first use) and mounts the instance's volumes on the node; returns the bind mounts for its spec. A volume
   * created now is given to the image's user (host ids shifted into the team's range under a user namespace), so a
   * non-root app can write it. Recorded in the instance's meta first, so a destroy never races the mount.
   */
  private async attachVolumes(
    config: ContainerConfig,
    meta: InstanceMeta,
    user: { uid: number; gid: number },
    range: IdRange | null,
  ): Promise<{ source: string; destination: string }[]> {
    const volumes = config.volumes ?? [];
    if (volumes.length === 0) return [];
    meta.volumes = volumes.map((v) => v.id);
    await this.store.writeMeta(meta);
    const mounts: { source: string; destination: string }[] = [];
    for (const v of volumes) {
      await this.volumeLocks.run(v.id, async () => {
        const { created } = await this.volumeStore.ensure(v.id, config.team, v.sizeBytes);
        if (created)
          await this.volumeStore.giveTo(v.id, (range?.hostId ?? 0) + user.uid, (range?.hostId ?? 0) + user.gid);
      });
      mounts.push({ source: this.volumeStore.mountPoint(v.id), destination: v.path });
    }
    // runc resolves the bind sources as the container's root: the directories above the store must let it pass.
    if (range) await ensureSearchable(path.join(this.volumeStore.root, "x"), this.log);
    return mounts;
  }

  /**
   * The instance's network namespace: with a user namespace, created together with it (owned by it, see userns.ts);
   * else a plain named netns. Returns its path.
   */
  private async networkNamespace(meta: InstanceMeta, range: IdRange | null): Promise<string> {
    if (!range) {
      const p = await this.netns.add(meta.netns);
      meta.cniAttached = true;
      await this.store.writeMeta(meta);
      return p;
    }
    meta.userns = true;
    meta.cniAttached = true;
    await this.store.writeMeta(meta);
    return createUsernsAndNetns(
      { unsharePath: this.config.unsharePath, ipPath: this.config.ipPath, mounter: this.mounter },
      meta.netns,
      this.store.file(meta.id, "userns"),
      range,
    );
  }

  /**
   * The rootfs runc gets: the image rootfs under a size-limited writable layer (see writable-layer.ts); without disk
   * limits the image rootfs itself, bind-mounted into the run dir when a user namespace must reach it (containers/
   * storage keeps its directories 0700).
   */
  private async prepareRootfs(
    config: ContainerConfig,
    meta: InstanceMeta,
    imageRootfs: string,
    range: IdRange | null,
  ): Promise<string> {
    const rootfs = this.store.rootfsDir(config.id);
    if (this.config.diskLimits) {
      meta.writableLayer = true;
      meta.diskBytes = config.limits.diskBytes;
      await this.store.writeMeta(meta);
      await createWritableLayer(
        { mkfsPath: this.config.mkfsPath, mounter: this.mounter },
        { image: this.store.file(config.id, "disk.img"), layerDir: this.store.layerDir(config.id), rootfs },
        imageRootfs,
        { sizeBytes: config.limits.diskBytes, rootUid: range?.hostId ?? 0, rootGid: range?.hostId ?? 0 },
      );
      return rootfs;
    }
    if (!range) return imageRootfs;
    await fs.mkdir(rootfs, { recursive: true, mode: 0o755 });
    await this.mounter.bind(imageRootfs, rootfs);
    return rootfs;
  }

  async start(id: string): Promise<void> {
    await this.locks.run(checkId(id), async () => {
      const state = await this.runc.state(id);
      if (!state) throw new RuntimeError("not_found", `container ${id} not found`);
      if (state.status !== "created")
        throw new RuntimeError("conflict", `container ${id} is ${state.status}, not created`);
      await this.runc.start(id);
      await this.waitForExec(state.pid);
    });
  }

  /**
   * `runc start` returns before runc init has exec'd the user process. A signal in that window hits runc init (a Go
   * program), which dies with status 2 instead of running the process's handler, so wait until the exec happened.
   */
  private async waitForExec(pid: number): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
      if (!(argv[1] === "init" && (argv[0] ?? "").endsWith("runc"))) return;
      await sleep(5);
    }
  }

  async stop(id: string, graceMs: number): Promise<ContainerInfo> {
    checkId(id);
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RuntimeError("invalid", "graceMs must be a non-negative integer");
    return this.locks.run(id, async () => {
      const state = await this.runc.state(id);
      if (state && state.status !== "stopped") {
        // A created container's init is runc itself waiting for start: SIGTERM means nothing to it.
        const first = state.status === "created" ? "KILL" : "TERM";
        await this.signal(id, first);
        if (first === "TERM" && !(await this.waitForExit(id, graceMs))) await this.signal(id, "KILL");
        if (!(await this.waitForExit(id, KILL_WAIT_MS)))
          throw new RuntimeError("timeout", `container ${id} did not exit after SIGKILL`);
      }
      const info = await this.info(id);
      if (!info) throw new RuntimeError("not_found", `container ${id} not found`);
      return info;
    });
  }

  async kill(id: string, signal: Signal): Promise<void> {
    const sig = checkSignal(signal);
    await this.locks.run(checkId(id), async () => {
      const state = await this.runc.state(id);
      if (!state) throw new RuntimeError("not_found", `container ${id} not found`);
      await this.runc.kill(id, sig.replace(/^SIG/, ""));
    });
  }

  async delete(id: string): Promise<void> {
    await this.locks.run(checkId(id), () => this.cleanup(id));
  }

  async exec(id: string, opts: ExecRequest): Promise<ExecProcess> {
    checkId(id);
    const state = await this.runc.state(id);
    if (state?.status !== "running") throw new RuntimeError("conflict", `${id} is not running`);
    const { runcPath, runcRoot, python3Path } = this.config;
    return startExec({ runcPath, runcRoot, python3Path, id, ...opts });
  }

  async state(id: string): Promise<ContainerInfo | null> {
    return this.info(checkId(id));
  }

  async stats(id: string): Promise<InstanceStats> {
    const meta = await this.store.readMeta(checkId(id));
    if (!meta) throw new RuntimeError("not_found", `container ${id} not found`);
    const state = await this.runc.state(id);
    const usage = await readCgroupUsage(meta.cgroupPath);
    const net = state && state.status === "running" && state.pid > 0 ? await readNetDev(state.pid) : { rx: 0, tx: 0 };
    return {
      instanceId: id,
      cpuNanos: usage.cpuNanos,
      memoryBytes: usage.memoryBytes,
      memoryLimitBytes: usage.memoryLimitBytes,
      pids: usage.pids,
      netRxBytes: net.rx,
      netTxBytes: net.tx,
      blkReadBytes: usage.blkReadBytes,
      blkWriteBytes: usage.blkWriteBytes,
    };
  }

  async list(): Promise<ContainerInfo[]> {
    const infos = await Promise.all((await this.store.ids()).map((id) => this.info(id)));
    return infos.filter((i): i is ContainerInfo => i !== null);
  }

  private cleanup(id: string): Promise<void> {
    return teardownInstance(
      {
        runc: this.runc,
        cni: this.cni,
        netns: this.netns,
        buildah: this.buildah,
        store: this.store,
        mounter: this.mounter,
        log: this.log,
        ...(this.network ? { network: this.network } : {}),
        hostName: this.hostName(id),
        cgroupPath: `${this.config.cgroupParent}/${id}`,
      },
      id,
    );
  }

  private ports(meta: InstanceMeta): PortMapping[] {
    return meta.port !== undefined && meta.hostPort !== undefined
      ? [{ hostPort: meta.hostPort, containerPort: meta.port, protocol: "tcp" }]
      : [];
  }

  private async signal(id: string, sig: "TERM" | "KILL"): Promise<void> {
    await this.runc.kill(id, sig).catch(async (err: unknown) => {
      // Exiting between our state check and the kill is fine; anything else is not.
      const state = await this.runc.state(id);
      if (state && state.status !== "stopped") throw err;
    });
  }

  /** Waits for conmon's exit file; every 0.5 s also asks runc, in case conmon itself is gone (killed by hand). */
  private async waitForExit(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 1; ; i++) {
      if ((await this.store.exitCode(id)) !== undefined) return true;
      if (i % 10 === 0 && ((await this.runc.state(id))?.status ?? "stopped") === "stopped") return true;
      if (Date.now() >= deadline) return false;
      await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
    }
  }

  private async info(id: string): Promise<ContainerInfo | null> {
    const meta = await this.store.readMeta(id);
    if (!meta) return null;
    const state = meta.stage === "created" ? await this.runc.state(id) : null;
    const exitCode = await this.store.exitCode(id);
    const status =
      !state || state.status === "stopped"
        ? "stopped"
        : state.status === "running" || state.status === "paused"
          ? "running"
          : "created";
    return {
      id,
      app: meta.app,
      release: meta.release,
      processType: meta.processType,
      status,
      ...(status === "running" && state ? { pid: state.pid } : {}),
      ...(meta.ip ? { ip: meta.ip } : {}),
      ...(meta.hostPort !== undefined ? { hostPort: meta.hostPort } : {}),
      ...(status === "stopped" && exitCode !== undefined ? { exitCode } : {}),
      ...((await this.store.oomKilled(id)) ? { oomKilled: true } : {}),
      logPath: this.store.file(id, "container.log"),
      createdAt: meta.createdAt,
    };
  }
}
