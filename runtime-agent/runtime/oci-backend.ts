// The real RuntimeBackend: rootfs as an overlay over the image's layers in containers/storage (pulled by buildah),
// network from CNI in a named netns, the container run by conmon + runc with the spec from oci/spec.ts (the create
// steps are in instance-create.ts). All host state an instance creates is recorded in its meta.json first.
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { InstanceStats } from "../protocol/notifications.ts";
import type { ContainerConfigInput, ContainerInfo, ExecRequest, RuntimeBackend, Signal, VolumeOps } from "./backend.ts";
import { type CgroupMount, cgroupMounts, cgroupVersion, readCgroupUsage, readNetDev } from "./cgroups.ts";
import { Cni } from "./cni.ts";
import { containerInfo, livePid, waitForExec, waitForExit } from "./container-state.ts";
import { OciBackendConfig, type OciBackendConfigInput } from "./config.ts";
import { RuntimeError } from "./errors.ts";
import { type ExecProcess, startExec } from "./exec-process.ts";
import { ensureSearchable, nofileHardLimit } from "./host-dirs.ts";
import { IdRangeAllocator } from "./id-ranges.ts";
import { IdmappedLayers } from "./idmapped-layers.ts";
import { ImageStore } from "./image-store.ts";
import { type CreateDeps, prepareAndCreate, type StepTimer, timed } from "./instance-create.ts";
import { type InstanceMeta, InstanceStore } from "./instance-store.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { LayerImagePool, mkfsFormatter } from "./layer-image-pool.ts";
import { ListCache } from "./list-cache.ts";
import { Mounter } from "./mounts.ts";
import { collectNetworkGarbage, type NetworkGarbage } from "./network-gc.ts";
import { NetnsManager } from "./netns.ts";
import { gatewayOf, type PolicyIngress, type PolicyMember } from "./network-policy.ts";
import { NetworkPolicy } from "./network-policy-applier.ts";
import { hostNameservers } from "./platform-files.ts";
import { Runc } from "./runc.ts";
import { Buildah } from "./storage.ts";
import { sweepRunDir, teardownInstance } from "./teardown.ts";
import { checkConfig, checkId, checkSignal } from "./validate.ts";
import { backendVolumeOps } from "./volume-users.ts";
import { VolumeStore } from "./volumes.ts";
import { mkfsArgs } from "./writable-layer.ts";

const KILL_WAIT_MS = 10_000;

/** conmon + runc + CNI + containers/storage. Create with `OciBackend.open()`. */
export class OciBackend implements RuntimeBackend {
  readonly config: OciBackendConfig;
  readonly store: InstanceStore;
  readonly runc: Runc;
  readonly buildah: Buildah;
  /** Images by reference: config and unpacked layers, pinned while in use (image-store.ts). */
  readonly images: ImageStore;
  /** Image layers idmapped per team range, shared by its instances (idmapped-layers.ts). */
  readonly idmapped: IdmappedLayers;
  readonly netns: NetnsManager;
  readonly mounter: Mounter;
  /** Per-team host id ranges; null when the node runs without user namespaces. */
  idRanges: IdRangeAllocator | null = null;
  private readonly cni: Cni;
  /** The node's network policy; undefined when disabled (benchmarks of its cost only). */
  private network: NetworkPolicy | undefined;
  private readonly locks = new KeyedLock();
  /** Runs `fn` under the instance's lock; its cached listing is dropped before and after (it may change the state). */
  private mutate<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.listCache.invalidate(id);
    return this.locks.run(id, fn).finally(() => this.listCache.invalidate(id));
  }
  /** Persistent volumes of the node (see volumes.ts). */
  readonly volumeStore: VolumeStore;
  /** One create/destroy at a time per volume: two instances of a type may start together. */
  private readonly volumeLocks = new KeyedLock();
  private nameservers: string[] = [];
  private nofile = 1024;
  private cgroupVersion: 1 | 2 = 1;
  /** Running containers' info between exits (list-cache.ts): list() runs every reconcile tick. */
  private readonly listCache = new ListCache();
  /** Formatted writable-layer images kept ready for starts (layer-image-pool.ts); none without disk limits. */
  private layerPool: LayerImagePool | undefined;
  /** Receives each create/start step's wall time (benchmarks' per-step breakdown); unset in the agent. */
  onStep: StepTimer | undefined;
  /** The host's cgroup mounts, read once: parsing mountinfo per stats reading was most of a stats pass's CPU. */
  private cgroups: CgroupMount[] | undefined;

  private constructor(
    config: OciBackendConfig,
    private readonly log: Logger,
  ) {
    this.config = config;
    this.store = new InstanceStore(config.stateDir, OciBackend.runDirOf(config));
    this.mounter = new Mounter(config.mountPath, config.umountPath);
    this.runc = new Runc(config.runcPath, config.runcRoot);
    this.buildah = new Buildah(config.buildahPath, config.storage);
    this.images = new ImageStore(this.buildah, config.storage.root, `${config.namePrefix}image-`);
    this.idmapped = new IdmappedLayers(path.join(config.stateDir, "idmapped"), config.python3Path, this.mounter);
    this.netns = new NetnsManager(config.ipPath);
    this.cni = new Cni({ ...config.cni }, log.child({ component: "cni" }));
    this.volumeStore = new VolumeStore(config.stateDir, { mkfsPath: config.mkfsPath, mounter: this.mounter });
  }

  /** The node's volumes (volume-users.ts): usage, destroy when unmounted, tar archives with their users frozen. */
  readonly volumes: VolumeOps = backendVolumeOps(
    () => ({ instances: this.store, runc: this.runc, volumes: this.volumeStore, tarPath: this.config.tarPath }),
    this.volumeLocks,
  );

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
    await sweepRunDir(backend.store, backend.runc, backend.mounter, backend.log);
    backend.listCache.watchExits(backend.store.exitDir);
    if (parsed.data.diskLimits) {
      backend.layerPool = new LayerImagePool(
        path.join(parsed.data.stateDir, "layer-pool"),
        mkfsFormatter(parsed.data.mkfsPath, mkfsArgs),
        log.child({ component: "layer-pool" }),
      );
      await backend.layerPool.init();
    }
    backend.nameservers = parsed.data.dns ?? (await hostNameservers());
    backend.nofile = await nofileHardLimit();
    backend.cgroupVersion = await cgroupVersion();
    backend.cgroups = await cgroupMounts();
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

  /** Stops background work (the layer image pool's refill); the containers are not touched. */
  async close(): Promise<void> {
    this.listCache.stop();
    await this.layerPool?.close();
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

  /**
   * Drops what the start path keeps per image and per team while instances use them: pins of images no instance
   * record names (image-store.ts) and idmapped layer mounts of id ranges no record has (idmapped-layers.ts). The agent
   * runs it with its other garbage collection (at start and periodically), which also covers a crash or kill -9.
   */
  async collectRootfsGarbage(opts: { pinGraceMs?: number } = {}): Promise<{ unpinned: string[]; layerMounts: number }> {
    const metas = async () =>
      (await Promise.all((await this.store.ids()).map((i) => this.store.readMeta(i)))).flatMap((m) => (m ? [m] : []));
    const images = new Set((await metas()).flatMap((m) => (m.imageId ? [m.imageId] : [])));
    const unpinned = await this.images.unpinUnused(images, opts.pinGraceMs);
    const layerMounts = await this.idmapped.collect(
      async () => new Set((await metas()).flatMap((m) => (m.idRange ? [m.idRange.hostId] : []))),
    );
    return { unpinned, layerMounts };
  }

  private createDeps(): CreateDeps {
    return {
      config: this.config,
      store: this.store,
      images: this.images,
      idmapped: this.idmapped,
      idRanges: this.idRanges,
      cni: this.cni,
      netns: this.netns,
      mounter: this.mounter,
      runc: this.runc,
      network: this.network,
      volumeStore: this.volumeStore,
      volumeLocks: this.volumeLocks,
      nameservers: this.nameservers,
      nofile: this.nofile,
      cgroupVersion: this.cgroupVersion,
      log: this.log,
      ...(this.onStep ? { onStep: this.onStep } : {}),
      ...(this.layerPool ? { layerPool: this.layerPool } : {}),
    };
  }

  /** The instances the network policy is for: every record with an address that is not being torn down. */
  private async policyMembers(): Promise<PolicyMember[]> {
    const metas = await Promise.all((await this.store.ids()).map((id) => this.store.readMeta(id)));
    return metas.flatMap((m) => (m?.ip && !m.networkRemoved ? [{ id: m.id, ip: m.ip, team: m.team, app: m.app }] : []));
  }

  /** The run dir a config resolves to (default: `containers` beside the runc root). */
  static runDirOf(config: OciBackendConfig): string {
    return config.runDir ?? path.join(path.dirname(config.runcRoot), "containers");
  }

  /** True when containers get user namespaces (the mode the node reports). */
  get userNamespaces(): boolean {
    return this.idRanges !== null;
  }

  /** Per-app ingress rules (DesiredState.ingress): applied to the node policy at once, no container touched. */
  async setIngress(rules: readonly PolicyIngress[]): Promise<void> {
    await this.network?.setIngress(rules);
  }

  /** Name of the instance's netns and buildah container. */
  hostName(id: string): string {
    return `${this.config.namePrefix}${checkId(id)}`;
  }

  async create(input: ContainerConfigInput): Promise<ContainerInfo> {
    const config = checkConfig(input);
    return this.mutate(config.id, async () => {
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
        await prepareAndCreate(this.createDeps(), config, meta);
      } catch (err) {
        this.log.warn({ err, id: config.id }, "create failed; cleaning up");
        await this.cleanup(config.id).catch((cleanupErr: unknown) =>
          this.log.error({ err: cleanupErr, id: config.id }, "cleanup after failed create failed"),
        );
        throw err;
      }
      return (await containerInfo(this.store, this.runc, config.id)) as ContainerInfo;
    });
  }

  async start(id: string): Promise<void> {
    await this.mutate(checkId(id), async () => {
      const state = await this.runc.state(id);
      if (!state) throw new RuntimeError("not_found", `container ${id} not found`);
      if (state.status !== "created")
        throw new RuntimeError("conflict", `container ${id} is ${state.status}, not created`);
      await timed(this.onStep, "runc start", () => this.runc.start(id));
      await timed(this.onStep, "wait for exec", () => waitForExec(state.pid));
    });
  }

  async stop(id: string, graceMs: number): Promise<ContainerInfo> {
    checkId(id);
    if (!Number.isInteger(graceMs) || graceMs < 0)
      throw new RuntimeError("invalid", "graceMs must be a non-negative integer");
    return this.mutate(id, async () => {
      const state = await this.runc.state(id);
      if (state && state.status !== "stopped") {
        // A created container's init is runc itself waiting for start: SIGTERM means nothing to it.
        const first = state.status === "created" ? "KILL" : "TERM";
        await this.signal(id, first);
        if (first === "TERM" && !(await waitForExit(this.store, this.runc, id, graceMs))) await this.signal(id, "KILL");
        if (!(await waitForExit(this.store, this.runc, id, KILL_WAIT_MS)))
          throw new RuntimeError("timeout", `container ${id} did not exit after SIGKILL`);
      }
      const info = await containerInfo(this.store, this.runc, id);
      if (!info) throw new RuntimeError("not_found", `container ${id} not found`);
      return info;
    });
  }

  async kill(id: string, signal: Signal): Promise<void> {
    const sig = checkSignal(signal);
    await this.mutate(checkId(id), async () => {
      const state = await this.runc.state(id);
      if (!state) throw new RuntimeError("not_found", `container ${id} not found`);
      await this.runc.kill(id, sig.replace(/^SIG/, ""));
    });
  }

  async delete(id: string): Promise<void> {
    await this.mutate(checkId(id), () => this.cleanup(id));
  }

  async exec(id: string, opts: ExecRequest): Promise<ExecProcess> {
    checkId(id);
    const state = await this.runc.state(id);
    if (state?.status !== "running") throw new RuntimeError("conflict", `${id} is not running`);
    const { runcPath, runcRoot, python3Path } = this.config;
    return startExec({ runcPath, runcRoot, python3Path, id, ...opts });
  }

  async state(id: string): Promise<ContainerInfo | null> {
    return containerInfo(this.store, this.runc, checkId(id));
  }

  async stats(id: string): Promise<InstanceStats> {
    const meta = await this.store.peekMeta(checkId(id));
    if (!meta) throw new RuntimeError("not_found", `container ${id} not found`);
    // Files only, no runc process: the stats collector reads every instance every few seconds.
    const usage = await readCgroupUsage(meta.cgroupPath, this.cgroups);
    const pid = await livePid(this.store, id, meta.cgroupPath);
    const net = pid !== null ? await readNetDev(pid) : { rx: 0, tx: 0 };
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
    // runc's state from its files, no runc process per instance (the reconciler lists every tick); a container
    // without a state file there is asked for through runc. Running ones come from the cache between exits.
    const infos = await Promise.all(
      (await this.store.ids()).map(async (id) => {
        const cached = this.listCache.get(id);
        if (cached) return cached;
        const token = this.listCache.token(id);
        const info = await containerInfo(this.store, this.runc, id, (await this.runc.stateFromFiles(id)) ?? undefined);
        if (info) this.listCache.set(info, token);
        return info;
      }),
    );
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

  private async signal(id: string, sig: "TERM" | "KILL"): Promise<void> {
    await this.runc.kill(id, sig).catch(async (err: unknown) => {
      // Exiting between our state check and the kill is fine; anything else is not.
      const state = await this.runc.state(id);
      if (state && state.status !== "stopped") throw err;
    });
  }
}
