// Pure helpers of the Logs tab: the client-side buffer of log lines (ordered by seq, capped, dropping the oldest),
// markers for holes in the live stream, loading older pages in front, terminal control sequences stripped for
// search, and the filters. No React here.
import { parseAnsi } from "../deploy/ansi";

export type LogSource = "app" | "router" | "berth";
export type LogStream = "stdout" | "stderr";

/** One stored line (GET /apps/{app}/logs, server/logs/store.ts). */
export interface LogEntry {
  seq: number;
  at: string;
  stream: LogStream;
  source: LogSource;
  processType?: string;
  instance?: string;
  release?: string;
  text: string;
}

/** GET /apps/{app}/logs. */
export interface LogsPage {
  entries: LogEntry[];
  lastSeq: number;
}

/** A line as the viewer holds it: the entry plus its text without control sequences (what search looks at). */
export interface LogLine extends LogEntry {
  plain: string;
}

/** A hole in the buffer: `count` lines after `afterSeq` never arrived (the tab fell behind the live stream). */
export interface LogGap {
  kind: "gap";
  key: string;
  afterSeq: number;
  count: number;
  /** The server said it dropped messages for this tab (rather than a hole found by seq alone). */
  dropped: boolean;
  /** The store no longer has these lines. */
  lost?: boolean;
}

export type LogRow = { kind: "line"; key: string; line: LogLine } | LogGap;

export interface LogBuffer {
  rows: readonly LogRow[];
  /** Lines held (rows that are not gaps). */
  lines: number;
  /** Seq of the oldest line held (0 when empty). */
  firstSeq: number;
  /** Newest seq seen (also from an empty page's lastSeq), so live lines resume after it. */
  lastSeq: number;
  /** Nothing older is left in the store. */
  reachedStart: boolean;
}

/** Most lines the tab keeps; older ones are dropped as new ones arrive. */
export const MAX_LINES = 100_000;

export const EMPTY_BUFFER: LogBuffer = { rows: [], lines: 0, firstSeq: 0, lastSeq: 0, reachedStart: false };

// C0/C1 controls other than tab; ESC starts a sequence, handled by the ANSI parser.
const HAS_CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** Text without terminal escape sequences and control characters (a line rewritten with \r keeps its last state). */
export function stripControl(text: string): string {
  if (!HAS_CONTROL.test(text)) return text;
  return parseAnsi(text)
    .map((s) => s.text)
    .join("")
    .replace(/\n/g, " ");
}

const lineRow = (e: LogEntry): LogRow => ({
  kind: "line",
  key: `l${e.seq}`,
  line: { ...e, plain: stripControl(e.text) },
});

/** Drops the oldest lines (and gaps before them) beyond `cap`. */
export function capBuffer(buf: LogBuffer, cap = MAX_LINES): LogBuffer {
  if (buf.lines <= cap) return buf;
  let drop = buf.lines - cap;
  let i = 0;
  while (i < buf.rows.length && (drop > 0 || buf.rows[i]?.kind === "gap")) {
    if (buf.rows[i]?.kind === "line") drop--;
    i++;
  }
  const rows = buf.rows.slice(i);
  const first = rows.find((r) => r.kind === "line");
  return {
    ...buf,
    rows,
    lines: cap,
    firstSeq: first?.kind === "line" ? first.line.seq : 0,
    // Dropped from the front on purpose: older lines are in the store again.
    reachedStart: false,
  };
}

/**
 * Appends entries (oldest first) after the newest line: entries at or below lastSeq are duplicates and skipped; a
 * jump in seq becomes a gap row when `markGaps` (the live stream), so the reader sees that lines are missing.
 */
export function appendEntries(
  buf: LogBuffer,
  entries: readonly LogEntry[],
  opts: { cap?: number; markGaps?: boolean; dropped?: boolean } = {},
): LogBuffer {
  const added: LogRow[] = [];
  let last = buf.lastSeq;
  let lines = buf.lines;
  let firstSeq = buf.firstSeq;
  for (const e of entries) {
    if (e.seq <= last) continue;
    if (opts.markGaps && last > 0 && e.seq > last + 1) {
      added.push({
        kind: "gap",
        key: `g${last}`,
        afterSeq: last,
        count: e.seq - last - 1,
        dropped: opts.dropped ?? false,
      });
    }
    added.push(lineRow(e));
    if (firstSeq === 0) firstSeq = e.seq;
    last = e.seq;
    lines++;
  }
  if (added.length === 0) return buf;
  return capBuffer({ ...buf, rows: buf.rows.concat(added), lines, firstSeq, lastSeq: last }, opts.cap);
}

/** Records the app's newest seq from a page that had no (new) entries, so live lines do not look like a gap. */
export function advanceTo(buf: LogBuffer, lastSeq: number): LogBuffer {
  return buf.lines === 0 && lastSeq > buf.lastSeq ? { ...buf, lastSeq } : buf;
}

/** Puts older entries (oldest first) in front; `complete` when the store had nothing older left. */
export function prependEntries(
  buf: LogBuffer,
  entries: readonly LogEntry[],
  complete: boolean,
  cap = MAX_LINES,
): LogBuffer {
  const before = buf.lines === 0 ? Infinity : buf.firstSeq;
  const older = entries.filter((e) => e.seq < before);
  const room = Math.max(0, cap - buf.lines);
  const kept = older.slice(Math.max(0, older.length - room));
  if (kept.length === 0) return complete || older.length === 0 ? { ...buf, reachedStart: complete } : buf;
  const rows = kept.map(lineRow);
  const first = kept[0] as LogEntry;
  return {
    rows: rows.concat(buf.rows),
    lines: buf.lines + kept.length,
    firstSeq: first.seq,
    lastSeq: Math.max(buf.lastSeq, (kept[kept.length - 1] as LogEntry).seq),
    reachedStart: complete || first.seq <= 1,
  };
}

/**
 * Fills a gap with the entries fetched for it (the oldest after gap.afterSeq); what is still missing stays a
 * smaller gap after the last line filled in.
 */
export function fillGap(buf: LogBuffer, gapKey: string, entries: readonly LogEntry[]): LogBuffer {
  const at = buf.rows.findIndex((r) => r.kind === "gap" && r.key === gapKey);
  if (at < 0) return buf;
  const gap = buf.rows[at] as LogGap;
  const end = gap.afterSeq + gap.count;
  const inside = entries.filter((e) => e.seq > gap.afterSeq && e.seq <= end);
  if (inside.length === 0) {
    const rows = [...buf.rows];
    rows[at] = { ...gap, lost: true };
    return { ...buf, rows };
  }
  const rows: LogRow[] = inside.map(lineRow);
  const lastFilled = (inside[inside.length - 1] as LogEntry).seq;
  // A page smaller than the gap (or lines the store rotated away) leaves a smaller gap after the last one filled.
  if (lastFilled < end) {
    rows.push({ ...gap, key: `g${lastFilled}`, afterSeq: lastFilled, count: end - lastFilled });
  }
  return {
    ...buf,
    rows: [...buf.rows.slice(0, at), ...rows, ...buf.rows.slice(at + 1)],
    lines: buf.lines + inside.length,
  };
}

/** Which lines to show; empty strings mean "any". */
export interface LogFilter {
  processType: string;
  instance: string;
  stream: "" | LogStream;
  source: "" | LogSource;
  search: string;
}

export const NO_FILTER: LogFilter = { processType: "", instance: "", stream: "", source: "", search: "" };

export const isFiltering = (f: LogFilter) =>
  Boolean(f.processType || f.instance || f.stream || f.source || f.search.trim());

/** Whether a line passes the filters; the search is case-insensitive on the text without control sequences. */
export function matches(line: LogLine, f: LogFilter, needle = f.search.trim().toLowerCase()): boolean {
  if (f.processType && line.processType !== f.processType) return false;
  if (f.instance && line.instance !== f.instance) return false;
  if (f.stream && line.stream !== f.stream) return false;
  if (f.source && line.source !== f.source) return false;
  return needle === "" || line.plain.toLowerCase().includes(needle);
}

/** The rows to show: matching lines and every gap (a hole is worth knowing about whatever the filter). */
export function filterRows(rows: readonly LogRow[], f: LogFilter): readonly LogRow[] {
  if (!isFiltering(f)) return rows;
  const needle = f.search.trim().toLowerCase();
  return rows.filter((r) => r.kind === "gap" || matches(r.line, f, needle));
}

/** Splits text around case-insensitive occurrences of `needle`, for highlighting. */
export function splitMatches(text: string, needle: string): { text: string; match: boolean }[] {
  const n = needle.trim().toLowerCase();
  if (!n) return [{ text, match: false }];
  const lower = text.toLowerCase();
  const out: { text: string; match: boolean }[] = [];
  let from = 0;
  for (let i = lower.indexOf(n); i >= 0; i = lower.indexOf(n, i + n.length)) {
    if (i > from) out.push({ text: text.slice(from, i), match: false });
    out.push({ text: text.slice(i, i + n.length), match: true });
    from = i + n.length;
  }
  if (from < text.length) out.push({ text: text.slice(from), match: false });
  return out;
}

/** Process types and instances seen in the buffer, for the filter menus. */
export function facets(rows: readonly LogRow[]): { processTypes: string[]; instances: string[] } {
  const types = new Set<string>();
  const instances = new Set<string>();
  for (const r of rows) {
    if (r.kind !== "line") continue;
    if (r.line.processType) types.add(r.line.processType);
    if (r.line.instance) instances.add(r.line.instance);
  }
  return { processTypes: [...types].sort(), instances: [...instances].sort() };
}
