// Ships every instance's k8s-file log (written by conmon) to the control plane as `instance.logs` batches.
//
// Invariants:
// - The file is the buffer. Nothing is read while the control plane is unreachable: the offset stays put and the
//   lines are read once the connection is back, so memory is bounded by one read chunk per poll, whatever the outage.
// - Offsets (inode + byte offset per instance) are persisted in `<stateDir>/log-offsets.json` (log-offsets.ts) after
//   sending, so a restarted agent resumes where it stopped (a crash may resend up to one persist interval of lines,
//   never skips).
// - conmon rotates by renaming a fresh file over the log (`--log-size-max`), and a restarted instance gets a new
//   file at the same path. A tail keeps the old file open (its data stays readable after the unlink), drains it,
//   then moves to the new inode. The file of a deleted container is opened before the delete (withLogShipping), so
//   the last lines of a crashed instance are shipped too.
import { fstatSync, statSync } from "node:fs";
import fs from "node:fs/promises";
import type { Logger } from "pino";
import type { LogBatch } from "../protocol/notifications.ts";
import type { ContainerInfo, RuntimeBackend } from "../runtime/backend.ts";
import { scanK8sChunk } from "./k8s-log-parse.ts";
import { loadOffsets, type LogOffsets, writeOffsets } from "./log-offsets.ts";

export { offsetsFilePath } from "./log-offsets.ts";

/** Options of the shipper. */
export interface LogShipperOptions {
  /** The agent's state dir; offsets live in `log-offsets.json` there. */
  stateDir: string;
  /** Sends one batch (only called while `canSend()` is true). */
  send: (batch: LogBatch) => void;
  /** True while the control plane is connected and registered. */
  canSend: () => boolean;
  log: Logger;
  /** Poll interval (default 150 ms): also the longest a line waits before it is sent. */
  intervalMs?: number;
  /** Lines per batch (default 1000). */
  maxBatchLines?: number;
  /** Characters of text per batch (default 512 Ki; a frame may carry 8 MiB). */
  maxBatchChars?: number;
  /** Bytes read per instance per poll (default 1 MiB); bounds memory and lets other instances have their turn. */
  maxReadPerPoll?: number;
  /** How long a line split by conmon (`P`) waits for its end before it is sent as it is (default 1 s). */
  partialWaitMs?: number;
  /** How often offsets are written (default 1 s). */
  persistMs?: number;
  now?: () => number;
}

/** Which instance a log belongs to. */
type Owner = Pick<LogBatch, "instanceId" | "app" | "release" | "processType">;

/** One open log file (an inode) and how far it was shipped. */
interface Source {
  fh: fs.FileHandle;
  ino: number;
  offset: number;
}

interface Tail {
  owner: Owner;
  path: string;
  /** Oldest first; the last one is the file the path pointed to when last looked at. */
  sources: Source[];
  /** The container was deleted: forget the tail once every source is drained. */
  removed: boolean;
  /** Offset persisted by an earlier agent run, applied when that inode is opened. */
  resume?: { ino: number; offset: number };
  partialSince?: number;
  /** Lines known to be lost and not yet reported (sent as `lost` with the next batch of this instance). */
  lost: number;
}

/** Files kept open per instance besides the current one (rotations while disconnected beyond this lose lines). */
const MAX_RETIRED = 2;
const READ_CHUNK = 256 * 1024;

/** Tails the log of every instance the backend runs; `start()` once, then `track()`/`removed()` per container. */
export class LogShipper {
  private readonly tails = new Map<string, Tail>();
  private resumeFrom = new Map<string, LogOffsets[string]>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  private dirty = false;
  private lastPersist = 0;
  private readonly now: () => number;
  // One read buffer: polls never overlap and every chunk is decoded before the next read.
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  constructor(private readonly opts: LogShipperOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Loads persisted offsets, tails the logs of `containers` (what runs now) and starts polling. */
  async start(containers: ContainerInfo[]): Promise<void> {
    this.resumeFrom = new Map(Object.entries(await loadOffsets(this.opts.stateDir, this.opts.log)));
    for (const c of containers) await this.track(c);
    // Offsets of containers that are gone: their files went with them.
    this.resumeFrom.clear();
    this.dirty = true;
    this.schedule();
  }

  /** Starts (or continues, after a restart of the instance) tailing a container's log. */
  async track(info: ContainerInfo): Promise<void> {
    if (!info.logPath || this.stopped) return;
    const owner = { instanceId: info.id, app: info.app, release: info.release, processType: info.processType };
    let tail = this.tails.get(info.id);
    if (!tail) {
      const saved = this.resumeFrom.get(info.id);
      tail = { owner, path: info.logPath, sources: [], removed: false, lost: 0 };
      if (saved && saved.path === info.logPath) tail.resume = { ino: saved.ino, offset: saved.offset };
      this.tails.set(info.id, tail);
    } else {
      // A new container for the same instance (restart, or a replace with a new release).
      tail.removed = false;
      tail.path = info.logPath;
      // Lines of the old file keep their old owner only if they are drained before; the release is the new one from
      // here on, which is right for the new file and close enough for a last few lines of the old.
      tail.owner = owner;
    }
    const t = tail;
    await this.exclusive(() => this.refresh(t));
  }

  /** Opens the container's current log file so its lines survive the container's deletion; call before delete. */
  async retain(id: string): Promise<void> {
    const tail = this.tails.get(id);
    if (tail) await this.exclusive(() => this.refresh(tail));
  }

  /** The container was deleted: ship what is left of its log, then forget it. */
  removed(id: string): void {
    const tail = this.tails.get(id);
    if (tail) tail.removed = true;
  }

  /** Instances being tailed (for tests and diagnostics). */
  tailed(): string[] {
    return [...this.tails.keys()].sort();
  }

  /** Runs one poll now (tests); resolves when it is done. */
  flush(): Promise<void> {
    return this.pollOnce();
  }

  /** Stops polling, writes the offsets and closes every file. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
    await this.chain;
    this.dirty = true;
    await this.persist().catch((err: unknown) => this.opts.log.warn({ err }, "writing log offsets failed"));
    for (const tail of this.tails.values()) for (const s of tail.sources) await s.fh.close().catch(() => undefined);
    this.tails.clear();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.pollOnce()
        .catch((err: unknown) => this.opts.log.error({ err }, "log shipping pass failed"))
        .finally(() => {
          this.polling = undefined;
          this.schedule();
        });
    }, this.opts.intervalMs ?? 150);
  }

  private pollOnce(): Promise<void> {
    return this.exclusive(() => this.poll());
  }

  // Polls and file opens never overlap: two would open or read the same bytes and send them twice.
  private exclusive(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async poll(): Promise<void> {
    for (const [id, tail] of [...this.tails]) {
      try {
        if (this.idle(tail)) continue;
        await this.refresh(tail);
        if (this.opts.canSend()) await this.ship(tail);
        if (tail.removed && (await this.drained(tail))) {
          for (const s of tail.sources) await s.fh.close().catch(() => undefined);
          this.tails.delete(id);
          this.dirty = true;
        }
      } catch (err) {
        this.opts.log.warn({ err, instance: id }, "tailing a log failed");
      }
    }
    if (this.dirty && this.now() - this.lastPersist >= (this.opts.persistMs ?? 1000)) {
      await this.persist().catch((err: unknown) => this.opts.log.warn({ err }, "writing log offsets failed"));
    }
  }

  /**
   * True when a poll would find nothing to do: one open file, read to its end, still the file at the path. Checked with
   * two blocking stats (a few µs each): most tails are idle in most polls, and the async refresh + read of each cost
   * about half of the agent's CPU at rest with 100 instances (bench/agent-rest.ts).
   */
  private idle(tail: Tail): boolean {
    const head = tail.sources[0];
    if (!head || tail.sources.length !== 1 || tail.removed || tail.lost > 0) return false;
    try {
      return fstatSync(head.fh.fd).size === head.offset && statSync(tail.path).ino === head.ino;
    } catch {
      return false;
    }
  }

  /** Notices a new file at the path (rotation, restart) or an in-place truncation. */
  private async refresh(tail: Tail): Promise<void> {
    const head = tail.sources.at(-1);
    if (head) {
      const st = await head.fh.stat();
      if (st.size < head.offset) {
        this.opts.log.warn({ instance: tail.owner.instanceId }, "log file truncated in place; reading from the start");
        head.offset = 0;
        this.dirty = true;
      }
    }
    let ino: number;
    try {
      ino = (await fs.stat(tail.path)).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    if (head?.ino === ino) return;
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(tail.path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    const st = await fh.stat();
    if (head?.ino === st.ino) {
      await fh.close();
      return;
    }
    let offset = 0;
    if (tail.resume?.ino === st.ino && tail.resume.offset <= st.size) offset = tail.resume.offset;
    delete tail.resume;
    tail.sources.push({ fh, ino: st.ino, offset });
    this.dirty = true;
    while (tail.sources.length > MAX_RETIRED + 1) {
      const dropped = tail.sources.shift() as Source;
      // The file is still open: its unread records can be counted (not shipped: that would break the bound on open
      // files), so the app's log says exactly how many lines are missing.
      const lines = await countRecords(dropped).catch(() => 0);
      tail.lost += lines;
      this.opts.log.warn(
        { instance: tail.owner.instanceId, lines },
        "log rotated too often while not shipping; lines lost",
      );
      await dropped.fh.close().catch(() => undefined);
    }
  }

  /** Sends what can be read now, up to the per-poll budget. */
  private async ship(tail: Tail): Promise<void> {
    let budget = this.opts.maxReadPerPoll ?? 1024 * 1024;
    const buf = this.buf;
    if (tail.lost > 0) {
      // Before the lines that follow the gap, so the marker sits where the lines are missing.
      this.opts.send({ ...tail.owner, offset: tail.sources[0]?.offset ?? 0, lines: [], lost: tail.lost });
      tail.lost = 0;
    }
    while (budget > 0 && tail.sources.length > 0 && this.opts.canSend()) {
      const src = tail.sources[0] as Source;
      // An older file, or the file of a deleted container, will not grow any more.
      const final = tail.sources.length > 1 || tail.removed;
      const requested = Math.min(READ_CHUNK, budget);
      const { bytesRead } = await src.fh.read(buf, 0, requested, src.offset);
      if (bytesRead === 0) {
        if (!final) return;
        await this.retire(tail);
        continue;
      }
      budget -= bytesRead;
      const chunk = buf.subarray(0, bytesRead);
      const waitMs = this.opts.partialWaitMs ?? 1000;
      const waited = tail.partialSince !== undefined && this.now() - tail.partialSince >= waitMs;
      const scan = scanK8sChunk(chunk, {
        maxLines: this.opts.maxBatchLines ?? 1000,
        maxChars: this.opts.maxBatchChars ?? 512 * 1024,
        flushPartial: final || waited,
      });
      let { consumed, lines } = scan;
      if (consumed === 0 && bytesRead === READ_CHUNK && !scan.pendingPartial) {
        // A whole chunk without a newline is not conmon's output; ship it rather than stall on it forever.
        const at = new Date(this.now()).toISOString();
        lines = [{ at, stream: "stdout", partial: true, text: chunk.toString("utf8") }];
        consumed = bytesRead;
      }
      tail.partialSince = scan.pendingPartial ? (tail.partialSince ?? this.now()) : undefined;
      if (lines.length > 0) this.opts.send({ ...tail.owner, offset: src.offset + consumed, lines });
      src.offset += consumed;
      if (consumed > 0) this.dirty = true;
      if (consumed === 0) {
        // Only an unfinished record is left: wait for its end, unless the file is final (then it never comes).
        if (!final) return;
        await this.retire(tail);
        continue;
      }
      // Everything up to the end of the file is sent; the next poll looks again.
      if (bytesRead < requested && consumed === bytesRead && !final) return;
    }
  }

  private async retire(tail: Tail): Promise<void> {
    const old = tail.sources.shift();
    await old?.fh.close().catch(() => undefined);
    tail.partialSince = undefined;
    this.dirty = true;
  }

  /** True when nothing is left to read for a removed instance. */
  private async drained(tail: Tail): Promise<boolean> {
    for (const s of tail.sources) {
      const st = await s.fh.stat();
      if (st.size > s.offset) return false;
    }
    return true;
  }

  /** Writes the current file's offset of every tail (temp file + rename: never a torn file). */
  private async persist(): Promise<void> {
    this.dirty = false;
    this.lastPersist = this.now();
    const instances: LogOffsets = {};
    for (const [id, tail] of this.tails) {
      const head = tail.sources.at(-1);
      const entry = {
        app: tail.owner.app,
        release: tail.owner.release,
        processType: tail.owner.processType,
        path: tail.path,
      };
      // While an older file is drained, the current one has not been read: resume it from where it was opened.
      if (head) instances[id] = { ...entry, ino: head.ino, offset: tail.sources.length > 1 ? 0 : head.offset };
      else if (tail.resume) instances[id] = { ...entry, ...tail.resume };
    }
    await writeOffsets(this.opts.stateDir, instances);
  }
}

/** Wraps a backend so every created container is tailed and every deleted one is drained first. */
export function withLogShipping(backend: RuntimeBackend, shipper: LogShipper): RuntimeBackend {
  return {
    create: async (config) => {
      const info = await backend.create(config);
      await shipper.track(info);
      return info;
    },
    start: (id) => backend.start(id),
    stop: (id, graceMs) => backend.stop(id, graceMs),
    kill: (id, signal) => backend.kill(id, signal),
    delete: async (id) => {
      await shipper.retain(id).catch(() => undefined);
      await backend.delete(id);
      shipper.removed(id);
    },
    state: (id) => backend.state(id),
    stats: (id) => backend.stats(id),
    list: () => backend.list(),
    // The node policy's per-app ingress rules pass through untouched (they concern no container's logs).
    ...(backend.setIngress ? { setIngress: backend.setIngress.bind(backend) } : {}),
  };
}

/** Complete records (newline-terminated k8s-file lines) in a source after its offset. */
async function countRecords(src: Source): Promise<number> {
  const buf = Buffer.allocUnsafe(READ_CHUNK);
  let n = 0;
  for (let pos = src.offset; ;) {
    const { bytesRead } = await src.fh.read(buf, 0, READ_CHUNK, pos);
    if (bytesRead === 0) return n;
    for (let i = 0; i < bytesRead; i++) if (buf[i] === 0x0a) n++;
    pos += bytesRead;
  }
}
