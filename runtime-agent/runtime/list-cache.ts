// The agent lists every instance each reconcile tick; reading each one's record, runc state file, /proc stat, exec
// fifo, exit file and OOM marker every time was most of the agent's CPU at rest. A running container changes only
// through the backend's own calls (which invalidate its entry) or by exiting, and conmon reports an exit by writing
// `<exitDir>/<id>`: an inotify watch on that directory (fs.watch) drops the entry at once. So a running container's
// info is reused until then, and re-read anyway after `maxAgeMs` (jittered), which also covers what the watch cannot
// see (conmon itself killed, then the container exiting without an exit file). Without a working watch nothing is
// cached.
import { type FSWatcher, watch } from "node:fs";
import type { ContainerInfo } from "./backend.ts";

export class ListCache {
  private readonly entries = new Map<string, { info: ContainerInfo; until: number }>();
  /** Bumped per id by each invalidation (and all at once by `epoch`): a read that raced one is not cached. */
  private readonly versions = new Map<string, number>();
  private epoch = 0;
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly maxAgeMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching conmon's exit dir; false (nothing will be cached) when the watch cannot be set up. */
  watchExits(exitDir: string): boolean {
    try {
      this.watcher = watch(exitDir, { persistent: false }, (_event, name) => {
        if (name) this.invalidate(name.toString());
        else this.invalidateAll();
      });
      this.watcher.on("error", () => this.stop());
      return true;
    } catch {
      return false;
    }
  }

  /** The cached info of a running container, or undefined (read it). */
  get(id: string): ContainerInfo | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (this.now() < e.until) return e.info;
    this.entries.delete(id);
    return undefined;
  }

  /** Taken before reading a container: `set` caches the result only if nothing invalidated it meanwhile. */
  token(id: string): string {
    return `${this.epoch}:${this.versions.get(id) ?? 0}`;
  }

  /** Remembers `info` when the container runs, exits are watched and `token` is still current. */
  set(info: ContainerInfo, token: string): void {
    if (!this.watcher || info.status !== "running" || token !== this.token(info.id)) return;
    // Jittered, so 100 instances started together are not all re-read in the same tick.
    this.entries.set(info.id, { info, until: this.now() + this.maxAgeMs * (0.75 + Math.random() * 0.5) });
  }

  /** Forgets `id` (every backend call that can change it calls this first). */
  invalidate(id: string): void {
    this.entries.delete(id);
    this.versions.set(id, (this.versions.get(id) ?? 0) + 1);
    if (this.versions.size > 10_000) this.invalidateAll();
  }

  private invalidateAll(): void {
    this.entries.clear();
    this.versions.clear();
    this.epoch++;
  }

  /** Stops watching and forgets everything. */
  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.invalidateAll();
  }
}
