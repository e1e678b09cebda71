// conmon's k8s-file log format, one record per line: `<RFC3339Nano> <stdout|stderr> <F|P> <text>`. `P` marks a
// piece of a longer line that conmon split (its buffer filled, or the process wrote without a newline); the record
// with `F` on the same stream ends it. Pure functions over bytes, so the shipper's offsets stay exact.
import type { LogLine } from "../protocol/notifications.ts";

/** Longest text of one shipped line (the protocol allows 64 KiB); longer joined lines are cut into pieces. */
export const MAX_LINE_CHARS = 16 * 1024;

const RECORD =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) (stdout|stderr) ([FP])(?: (.*))?$/s;

/** One parsed k8s-file record. */
export interface K8sRecord {
  at: string;
  stream: "stdout" | "stderr";
  partial: boolean;
  text: string;
}

/** Parses one record (without its trailing newline); null when it is not in the k8s-file format. */
export function parseK8sRecord(line: string): K8sRecord | null {
  const m = RECORD.exec(line);
  if (!m?.[1] || !m[2] || !m[3]) return null;
  return { at: m[1], stream: m[2] as "stdout" | "stderr", partial: m[3] === "P", text: m[4] ?? "" };
}

/** Result of scanning a chunk of the log file. */
export interface ScanResult {
  lines: LogLine[];
  /** Bytes of the chunk consumed: everything up to the end of the last record that was turned into lines. */
  consumed: number;
  /** True when the chunk ends in split (`P`) records whose end is not written yet; they were not consumed. */
  pendingPartial: boolean;
}

/** Limits of one scan. */
export interface ScanLimits {
  /** Stop once this many lines were produced. */
  maxLines: number;
  /** Stop once the texts add up to this many characters. */
  maxChars: number;
  /** Flush an unfinished run of `P` records at the end of the chunk instead of waiting for its end. */
  flushPartial: boolean;
}

/**
 * Turns a chunk of the file (starting at a record boundary) into log lines: only complete (newline-terminated)
 * records are consumed; runs of `P` records are joined with their `F` record into one line (cut at MAX_LINE_CHARS,
 * the pieces but the last marked partial). A run without its end at the end of the chunk is left unconsumed unless
 * `flushPartial`, so the next read can join it. Malformed records are shipped as-is on stdout (never dropped).
 */
export function scanK8sChunk(chunk: Buffer, limits: ScanLimits): ScanResult {
  const lines: LogLine[] = [];
  let consumed = 0;
  let chars = 0;
  let pos = 0;
  // The current run of P records: where it started and what it holds so far.
  let run: { start: number; at: string; stream: "stdout" | "stderr"; text: string } | undefined;

  const emit = (at: string, stream: "stdout" | "stderr", text: string, partial: boolean) => {
    for (let i = 0; i < text.length || i === 0; i += MAX_LINE_CHARS) {
      const piece = text.slice(i, i + MAX_LINE_CHARS);
      const last = i + MAX_LINE_CHARS >= text.length;
      lines.push({ at, stream, partial: partial || !last, text: piece });
      chars += piece.length;
      if (last) break;
    }
  };

  let limited = false;
  while (pos < chunk.length) {
    if (lines.length >= limits.maxLines || chars >= limits.maxChars) {
      limited = true;
      break;
    }
    const nl = chunk.indexOf(0x0a, pos);
    if (nl < 0) break;
    const raw = chunk.toString("utf8", pos, nl);
    const next = nl + 1;
    const rec = parseK8sRecord(raw);
    if (!rec) {
      if (run) {
        emit(run.at, run.stream, run.text, true);
        run = undefined;
      }
      emit(new Date().toISOString(), "stdout", raw, false);
      consumed = next;
    } else if (rec.partial) {
      if (run && run.stream !== rec.stream) {
        // Interleaved streams: the other stream's unfinished run goes out as it is.
        emit(run.at, run.stream, run.text, true);
        consumed = pos;
        run = undefined;
      }
      if (run) {
        run.text += rec.text;
        if (run.text.length >= MAX_LINE_CHARS) {
          emit(run.at, run.stream, run.text, true);
          run = undefined;
          consumed = next;
        }
      } else {
        run = { start: pos, at: rec.at, stream: rec.stream, text: rec.text };
        if (run.text.length >= MAX_LINE_CHARS) {
          emit(run.at, run.stream, run.text, true);
          run = undefined;
          consumed = next;
        }
      }
    } else {
      if (run && run.stream === rec.stream) {
        emit(run.at, run.stream, run.text + rec.text, false);
        run = undefined;
      } else {
        if (run) {
          emit(run.at, run.stream, run.text, true);
          run = undefined;
        }
        emit(rec.at, rec.stream, rec.text, false);
      }
      consumed = next;
    }
    pos = next;
  }
  let pendingPartial = false;
  if (run) {
    if (limits.flushPartial && !limited) {
      emit(run.at, run.stream, run.text, true);
      consumed = pos;
    } else {
      // Leave the run for the next read (runs produce lines only when they end, so nothing is shipped twice).
      consumed = run.start;
      pendingPartial = !limited;
    }
  }
  return { lines, consumed, pendingPartial };
}
