// A few formatted writable-layer images kept ready per size, so a start only renames one into place instead of
// running mkfs.ext4 (20-60 ms here, the longest step of the rootfs branch). Images are sparse (about 0.7 MiB on disk
// each), identical for a size, and never mounted while pooled: a pooled image holds no loop device, mount or other
// host state, only a file under the agent's state dir. Refilled in the background after each take; at most
// `perSize` per size and `maxSizes` sizes (the sizes most recently asked for), so the pool stays a few MiB.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { run } from "./exec.ts";

/** Formats a fresh sparse image of `sizeBytes` at `file` (writable-layer.ts owns the mkfs arguments). */
export type FormatImage = (file: string, sizeBytes: number) => Promise<void>;

export class LayerImagePool {
  /** Ready images per size, oldest first. */
  private readonly ready = new Map<number, string[]>();
  /** Sizes most recently taken, newest last. */
  private readonly sizes: number[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;

  constructor(
    /** The pool's own directory (on the same filesystem as the instances' images: a take is a rename). */
    readonly dir: string,
    private readonly format: FormatImage,
    private readonly log: Logger,
    private readonly perSize = 2,
    private readonly maxSizes = 4,
  ) {}

  /** Creates the directory and drops whatever an earlier run left (possibly half-formatted). */
  async init(): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Moves a ready image of `sizeBytes` to `dest` (which must not exist) and returns true; false when none is ready
   * (the caller formats one itself). Either way the size is remembered and the pool refilled in the background.
   */
  async take(sizeBytes: number, dest: string): Promise<boolean> {
    this.remember(sizeBytes);
    const file = this.ready.get(sizeBytes)?.shift();
    let taken = false;
    if (file) {
      // link + unlink instead of rename: link fails if dest exists, as the caller's own `wx` create would.
      taken = await fs.link(file, dest).then(
        () => true,
        () => false,
      );
      await fs.rm(file, { force: true });
    }
    this.refill();
    return taken;
  }

  /** Stops refilling and waits for a refill in progress (tests and benchmarks remove the state dir afterwards). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
  }

  private remember(sizeBytes: number): void {
    const i = this.sizes.indexOf(sizeBytes);
    if (i >= 0) this.sizes.splice(i, 1);
    this.sizes.push(sizeBytes);
    while (this.sizes.length > this.maxSizes) {
      const dropped = this.sizes.shift() as number;
      for (const f of this.ready.get(dropped) ?? []) void fs.rm(f, { force: true });
      this.ready.delete(dropped);
    }
  }

  private refill(): void {
    if (this.filling || this.closed) return;
    this.filling = (async () => {
      try {
        for (;;) {
          const size = [...this.sizes].reverse().find((s) => (this.ready.get(s)?.length ?? 0) < this.perSize);
          if (size === undefined || this.closed) return;
          const name = `${size}-${randomBytes(6).toString("hex")}`;
          const tmp = path.join(this.dir, `${name}.tmp`);
          await this.format(tmp, size);
          const file = path.join(this.dir, `${name}.img`);
          await fs.rename(tmp, file);
          if (this.closed || !this.sizes.includes(size)) {
            await fs.rm(file, { force: true });
            continue;
          }
          this.ready.set(size, [...(this.ready.get(size) ?? []), file]);
        }
      } catch (err) {
        this.log.warn({ err }, "formatting a pooled writable-layer image failed; starts format their own");
      } finally {
        this.filling = undefined;
      }
    })();
  }
}

/** A FormatImage running mkfs.ext4 with `args(file)` on a fresh sparse file. */
export function mkfsFormatter(mkfsPath: string, args: (file: string) => string[]): FormatImage {
  return async (file, sizeBytes) => {
    const handle = await fs.open(file, "wx", 0o600);
    try {
      await handle.truncate(sizeBytes);
    } finally {
      await handle.close();
    }
    await run(mkfsPath, args(file), { timeoutMs: 60_000 });
  };
}
