// The per-app log store: append-only NDJSON segments under <dataDir>/logs/<app>/, rotated by size, the oldest
// dropped. Every entry gets a per-app sequence number that only grows (also across restarts: it is recovered from
// the newest segment), so clients can resume a stream without gaps or duplicates.
//
// Invariants: the directory name comes from the app-name allowlist only; the text is stored as received (JSON
// escapes it, nothing interprets it) but cut at MAX_TEXT_CHARS; `owner` holds the app id, so an app created later
// with the same name never sees the logs of a deleted one. Appends of one app are serialised.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { AppName } from "../validation/names.ts";

/** Where a line came from: the app's own output, the router's access log, or the platform. */
export const LOG_SOURCES = ["app", "router", "berth"] as const;
export type LogSource = (typeof LOG_SOURCES)[number];

/** Longest text of one entry; longer texts are cut (and end in a marker). */
export const MAX_TEXT_CHARS = 16 * 1024;

/** One stored line. */
export interface LogEntry {
  seq: number;
  at: string;
  stream: "stdout" | "stderr";
  source: LogSource;
  processType?: string;
  instance?: string;
  release?: string;
  text: string;
}

/** A line to append (seq assigned by the store). */
export type NewLogEntry = Omit<LogEntry, "seq" | "stream" | "at"> & { stream?: "stdout" | "stderr"; at?: string };

/** Filters and paging of a read. */
export interface LogQuery {
  /** At most this many entries (default 100). */
  lines?: number;
  /** Only entries with a larger seq; then the OLDEST `lines` of them are returned (paging forward). */
  after?: number;
  processType?: string;
  instance?: string;
  source?: LogSource;
}

/** The app a log belongs to: the name picks the directory, the id proves it is the same app. */
export interface LogOwner {
  id: string;
  name: string;
}

/** Size knobs (tests use small ones). */
export interface LogStoreOptions {
  /** Segment size that triggers a rotation (default 8 MiB). */
  segmentBytes?: number;
  /** Segments kept per app, the current one included (default 2). */
  segments?: number;
}

const StoredEntry = z.object({
  seq: z.int().min(1),
  at: z.string(),
  stream: z.enum(["stdout", "stderr"]),
  source: z.enum(LOG_SOURCES),
  processType: z.string().optional(),
  instance: z.string().optional(),
  release: z.string().optional(),
  text: z.string(),
});

const SEGMENT = /^(\d{16})\.ndjson$/;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, "0")}.ndjson`;
const OWNER_FILE = "owner";

interface AppLog {
  owner: string;
  dir: string;
  /** Segments oldest first, by their first seq. */
  segments: number[];
  lastSeq: number;
  currentBytes: number;
  /** The last write may have been torn (crash): start the next one on a fresh line. */
  needsNewline: boolean;
}

/** Cuts a text to MAX_TEXT_CHARS. */
export function capText(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS - 14)}...[truncated]`;
}

/** The platform's line in an app's log saying that `count` lines are missing, and why. */
export function lostLinesMarker(count: number, why: string): NewLogEntry {
  return { source: "berth", stream: "stderr", text: `[berth] ${count} log line${count === 1 ? "" : "s"} lost: ${why}` };
}

/** Why lines the store could not write are missing (the only write failure that is not a bug is a full disk). */
const STORE_FAILED = "they could not be stored (the platform's disk was full or failing)";

/** Append-only log store of every app under `root` (`<dataDir>/logs`). */
export class LogStore {
  private readonly apps = new Map<string, Promise<AppLog>>();
  /** Lines of an app (by id) that failed to be written: the next append that succeeds starts with a marker. */
  private readonly lost = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly segmentBytes: number;
  private readonly keep: number;

  constructor(
    readonly root: string,
    opts: LogStoreOptions = {},
  ) {
    this.segmentBytes = opts.segmentBytes ?? 8 * 1024 * 1024;
    this.keep = Math.max(1, opts.segments ?? 2);
  }

  /** Appends entries in order; resolves to them with their seq. */
  append(owner: LogOwner, entries: NewLogEntry[]): Promise<LogEntry[]> {
    return this.serial(owner.name, async () => {
      if (entries.length === 0) return [];
      const lostBefore = this.lost.get(owner.id) ?? 0;
      let written = 0;
      try {
        const log = await this.open(owner);
        const batch = lostBefore > 0 ? [lostLinesMarker(lostBefore, STORE_FAILED), ...entries] : entries;
        const out = await this.write(log, batch, (n) => (written = n));
        this.lost.delete(owner.id);
        return out;
      } catch (err) {
        // Lines written before the failure stay (a torn last line is skipped by readers); the rest are counted, and
        // the next append that succeeds says how many are missing. A marker that did not make it is counted again.
        const markerWritten = lostBefore > 0 && written > 0;
        const failed = entries.length - Math.max(0, written - (lostBefore > 0 ? 1 : 0));
        this.lost.set(owner.id, (markerWritten ? 0 : lostBefore) + failed);
        throw err;
      }
    });
  }

  /** Lines of an app not stored because writes failed and not yet reported by a marker (for tests and status). */
  lostLines(owner: LogOwner): number {
    return this.lost.get(owner.id) ?? 0;
  }

  /** Writes entries with new seqs; `progress` hears how many are safely on disk after each write. */
  private async write(log: AppLog, entries: NewLogEntry[], progress: (written: number) => void): Promise<LogEntry[]> {
    {
      const out: LogEntry[] = entries.map((e) => ({
        seq: ++log.lastSeq,
        at: e.at ?? new Date().toISOString(),
        stream: e.stream ?? "stdout",
        source: e.source,
        ...(e.processType !== undefined ? { processType: e.processType } : {}),
        ...(e.instance !== undefined ? { instance: e.instance } : {}),
        ...(e.release !== undefined ? { release: e.release } : {}),
        text: capText(e.text),
      }));
      // One write per segment the batch touches; a rotation happens between entries, never inside one.
      let pending: string[] = [];
      let pendingBytes = 0;
      let done = 0;
      const flush = async () => {
        if (pending.length === 0) return;
        const data = (log.needsNewline ? "\n" : "") + pending.join("");
        try {
          await fs.appendFile(this.segmentPath(log), data, { mode: 0o600 });
        } catch (err) {
          // Part of it may be on disk: the next write starts on a fresh line, and the size is what the file says.
          log.needsNewline = true;
          log.currentBytes = (await fs.stat(this.segmentPath(log)).catch(() => null))?.size ?? log.currentBytes;
          throw err;
        }
        log.currentBytes += Buffer.byteLength(data);
        log.needsNewline = false;
        done += pending.length;
        progress(done);
        pending = [];
        pendingBytes = 0;
      };
      for (const e of out) {
        const line = `${JSON.stringify(e)}\n`;
        const bytes = Buffer.byteLength(line);
        if (log.currentBytes + pendingBytes > 0 && log.currentBytes + pendingBytes + bytes > this.segmentBytes) {
          await flush();
          await this.rotate(log, e.seq);
        }
        pending.push(line);
        pendingBytes += bytes;
      }
      await flush();
      return out;
    }
  }

  /** The newest seq of an app (0 when it has none). */
  async lastSeq(owner: LogOwner): Promise<number> {
    return this.serial(owner.name, async () => (await this.open(owner)).lastSeq);
  }

  /**
   * Reads entries, oldest first: without `after` the newest `lines` matching ones, with `after` the oldest `lines`
   * matching ones after that seq. `lastSeq` is the app's newest seq at the time of the read (whatever the filters).
   */
  async read(owner: LogOwner, q: LogQuery = {}): Promise<{ entries: LogEntry[]; lastSeq: number }> {
    const limit = Math.max(0, q.lines ?? 100);
    // Snapshot under the lock: which segments exist and how far they are written.
    const snap = await this.serial(owner.name, async () => {
      const log = await this.open(owner);
      return { dir: log.dir, segments: [...log.segments], lastSeq: log.lastSeq };
    });
    const match = (e: LogEntry) =>
      e.seq <= snap.lastSeq &&
      (q.after === undefined || e.seq > q.after) &&
      (q.processType === undefined || e.processType === q.processType) &&
      (q.instance === undefined || e.instance === q.instance) &&
      (q.source === undefined || e.source === q.source);
    const entries: LogEntry[] = [];
    if (limit === 0) return { entries, lastSeq: snap.lastSeq };
    if (q.after !== undefined) {
      const after = q.after;
      // Skip segments that end before `after` (the next segment starts at or below after + 1).
      const from = snap.segments.findIndex(
        (first, i) => (snap.segments[i + 1] ?? Infinity) > after + 1 || first > after,
      );
      for (const first of snap.segments.slice(Math.max(0, from))) {
        for (const e of await readSegment(path.join(snap.dir, segmentName(first)))) {
          if (match(e)) entries.push(e);
          if (entries.length >= limit) return { entries, lastSeq: snap.lastSeq };
        }
      }
      return { entries, lastSeq: snap.lastSeq };
    }
    for (const first of [...snap.segments].reverse()) {
      const all = await readSegment(path.join(snap.dir, segmentName(first)));
      for (let i = all.length - 1; i >= 0 && entries.length < limit; i--) {
        const e = all[i] as LogEntry;
        if (match(e)) entries.push(e);
      }
      if (entries.length >= limit) break;
    }
    return { entries: entries.reverse(), lastSeq: snap.lastSeq };
  }

  /** Deletes an app's logs (when the app is deleted). */
  async remove(appName: string): Promise<void> {
    await this.serial(appName, async () => {
      this.apps.delete(appName);
      await fs.rm(this.dirOf(appName), { recursive: true, force: true });
    });
  }

  private dirOf(appName: string): string {
    // The allowlist is the only gate between a name and a path: no dots, no slashes, no reserved words.
    return path.join(this.root, AppName.parse(appName));
  }

  private segmentPath(log: AppLog): string {
    return path.join(log.dir, segmentName(log.segments.at(-1) as number));
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  /** Loads (once) what is on disk for an app; another app's leftovers under the same name are removed first. */
  private async open(owner: LogOwner): Promise<AppLog> {
    let p = this.apps.get(owner.name);
    if (p) {
      const log = await p;
      if (log.owner === owner.id) return log;
      this.apps.delete(owner.name);
    }
    p = this.load(owner);
    this.apps.set(owner.name, p);
    p.catch(() => this.apps.delete(owner.name));
    return p;
  }

  private async load(owner: LogOwner): Promise<AppLog> {
    const dir = this.dirOf(owner.name);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const recorded = await fs.readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => null);
    if (recorded?.trim() !== owner.id) {
      for (const f of await fs.readdir(dir)) if (SEGMENT.test(f)) await fs.rm(path.join(dir, f), { force: true });
      await fs.writeFile(path.join(dir, OWNER_FILE), owner.id, { mode: 0o600 });
    }
    const segments = (await fs.readdir(dir))
      .map((f) => SEGMENT.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const log: AppLog = { owner: owner.id, dir, segments, lastSeq: 0, currentBytes: 0, needsNewline: false };
    if (segments.length === 0) {
      log.segments = [1];
      return log;
    }
    const newest = segments.at(-1) as number;
    const file = path.join(dir, segmentName(newest));
    const st = await fs.stat(file).catch(() => null);
    log.currentBytes = st?.size ?? 0;
    log.lastSeq = newest - 1;
    if (st && st.size > 0) {
      const tail = await readTail(file, st.size);
      log.needsNewline = !tail.endsWith("\n");
      const last = tail
        .split("\n")
        .reverse()
        .map(parseEntry)
        .find((e) => e !== null);
      if (last) log.lastSeq = Math.max(log.lastSeq, last.seq);
    }
    return log;
  }

  private async rotate(log: AppLog, firstSeq: number): Promise<void> {
    log.segments.push(firstSeq);
    log.currentBytes = 0;
    log.needsNewline = false;
    while (log.segments.length > this.keep) {
      const old = log.segments.shift() as number;
      await fs.rm(path.join(log.dir, segmentName(old)), { force: true });
    }
  }
}

function parseEntry(line: string): LogEntry | null {
  if (!line) return null;
  try {
    const r = StoredEntry.safeParse(JSON.parse(line));
    return r.success ? (r.data as LogEntry) : null;
  } catch {
    return null;
  }
}

/** Every intact entry of a segment (a torn last line is skipped). */
async function readSegment(file: string): Promise<LogEntry[]> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    // Rotated away since the snapshot: nothing to read there any more.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: LogEntry[] = [];
  for (const line of text.split("\n")) {
    const e = parseEntry(line);
    if (e) out.push(e);
  }
  return out;
}

/** The last bytes of a file, enough to hold its last entry (entries are at most ~100 KiB as JSON). */
async function readTail(file: string, size: number): Promise<string> {
  const n = Math.min(size, 256 * 1024);
  const fh = await fs.open(file, "r");
  try {
    const buf = Buffer.alloc(n);
    await fh.read(buf, 0, n, size - n);
    return buf.toString("utf8");
  } finally {
    await fh.close();
  }
}
