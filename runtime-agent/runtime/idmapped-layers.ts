// Image layers as a team's user namespace sees them: an idmapped mount of each layer directory (file owner N shows
// as host id hostId + N), made once per team and layer and shared by all of the team's instances, the lower layers of
// their rootfs overlays. That is what `buildah from --userns-uid-map` did per start (containers/storage makes such
// mounts, overlays them and drops them again); kept here, a start is a single overlay mount. No copy, no chown: the
// layers on disk stay as pulled.
//
// util-linux 2.38 cannot make idmapped mounts (X-mount.idmap came in 2.39) and Node has no syscall interface, so a
// short Python script does it (python3 is already a dependency, exec-tty-relay.ts): open_tree(OPEN_TREE_CLONE) of the
// layer, mount_setattr(MOUNT_ATTR_IDMAP) with the user namespace's fd, move_mount() onto the mapped directory. An
// overlay holds its own private clones of its lower mounts, so unmounting a mapped layer never disturbs a running
// instance: garbage collection only has to keep them from piling up.
import fs from "node:fs/promises";
import path from "node:path";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import { KeyedLock } from "./keyed-lock.ts";
import { type Mounter, mountPoints } from "./mounts.ts";

/** Makes each `targets[i]` an idmapped mount of `sources[i]` with the mapping of the user namespace at `userns`. */
export const IDMAP_SCRIPT = String.raw`
import ctypes, json, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
# Generic syscall numbers (the same on x86_64 and arm64).
NR_open_tree, NR_move_mount, NR_mount_setattr = 428, 429, 442
OPEN_TREE_CLONE, AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH, MOUNT_ATTR_IDMAP = 1, 0x1000, 0x4, 0x100000
def check(ret, what):
    if ret < 0:
        e = ctypes.get_errno()
        sys.stderr.write("%s: %s\n" % (what, os.strerror(e)))
        sys.exit(1)
    return ret
req = json.loads(sys.argv[1])
userns = os.open(req["userns"], os.O_RDONLY | os.O_CLOEXEC)
for src, dst in zip(req["sources"], req["targets"]):
    fd = check(libc.syscall(NR_open_tree, -100, src.encode(), OPEN_TREE_CLONE | os.O_CLOEXEC), "open_tree " + src)
    attr = ctypes.create_string_buffer(struct.pack("QQQQ", MOUNT_ATTR_IDMAP, 0, 0, userns), 32)
    check(libc.syscall(NR_mount_setattr, fd, b"", AT_EMPTY_PATH, attr, 32), "mount_setattr " + src)
    check(libc.syscall(NR_move_mount, fd, b"", -100, dst.encode(), MOVE_MOUNT_F_EMPTY_PATH), "move_mount " + dst)
    os.close(fd)
`;

const HOST_ID = /^[1-9][0-9]{0,9}$/;

export class IdmappedLayers {
  /** One ensure/collect at a time per id range. */
  readonly locks = new KeyedLock();

  constructor(
    /** Root of the mapped mounts: `<root>/<hostId>/<layer link>`. */
    readonly root: string,
    private readonly python3Path: string,
    private readonly mounter: Mounter,
  ) {}

  /** The mapped directories of `links` for range `hostId` (not necessarily mounted yet). */
  dirs(hostId: number, links: readonly string[]): string[] {
    return links.map((l) => path.join(this.root, String(hostId), l));
  }

  /**
   * Makes sure every layer is mounted idmapped for the range; `usernsFile` is a user namespace with its mapping.
   * Returns the mapped directories, topmost first. Call with `locks` held for the range (see collect()).
   */
  async ensure(
    hostId: number,
    links: readonly string[],
    layers: readonly string[],
    usernsFile: string,
  ): Promise<string[]> {
    const dirs = this.dirs(hostId, links);
    const mounted = new Set(await mountPoints());
    const missing = dirs.map((d, i) => [d, layers[i] ?? ""] as const).filter(([d]) => !mounted.has(d));
    if (missing.length > 0) {
      await fs.mkdir(path.join(this.root, String(hostId)), { recursive: true, mode: 0o700 });
      for (const [d] of missing) await fs.mkdir(d, { recursive: true, mode: 0o700 });
      const req = { userns: usernsFile, sources: missing.map(([, s]) => s), targets: missing.map(([d]) => d) };
      await run(this.python3Path, ["-I", "-S", "-c", IDMAP_SCRIPT, JSON.stringify(req)], { timeoutMs: 30_000 }).catch(
        (err: unknown) => {
          throw new RuntimeError("failed", `cannot make idmapped layer mounts: ${(err as Error).message}`, {
            cause: err,
          });
        },
      );
    }
    return dirs;
  }

  /** Unmounts and removes the mapped layers of every range not in `inUse` (the instances' ranges). */
  async collect(inUse: () => Promise<ReadonlySet<number>>): Promise<number> {
    const ranges = await fs.readdir(this.root).catch(() => [] as string[]);
    let removed = 0;
    for (const r of ranges.filter((x) => HOST_ID.test(x))) {
      removed += await this.locks.run(r, async () => {
        if ((await inUse()).has(Number(r))) return 0;
        const dir = path.join(this.root, r);
        const mounts = (await mountPoints()).filter((m) => m.startsWith(`${dir}/`));
        for (const m of mounts) await this.mounter.unmount(m);
        // rmdir, never a recursive rm: should a layer still be mounted here, that would delete the image's files.
        for (const e of await fs.readdir(dir)) await fs.rmdir(path.join(dir, e));
        await fs.rmdir(dir);
        return mounts.length;
      });
    }
    return removed;
  }
}
