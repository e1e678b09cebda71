// An app's log as the Logs tab holds it: the newest page from the store first, then the live `logs` channel
// appended in seq order. Live lines are held back (not lost) while a page loads, while catching up after a
// reconnect (`after=lastSeq`, so a drop leaves no hole) and while the reader has paused; a hole the hub reports
// (a slow tab) becomes a marker that can be filled from the store.
"use client";
import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { api, seg } from "@/lib/api";
import { useStream, useStreamDropped, useStreamReconnect } from "@/lib/stream";
import {
  advanceTo,
  appendEntries,
  EMPTY_BUFFER,
  fillGap,
  type LogBuffer,
  type LogEntry,
  type LogGap,
  type LogsPage,
  MAX_LINES,
  prependEntries,
} from "./buffer";

/** Lines of the first page. */
export const INITIAL_LINES = 2_000;
/** Lines per "load older" page. */
export const OLDER_PAGE = 5_000;
/** Largest page the API serves (server/logs/read.ts). */
const MAX_PAGE = 10_000;
/** Pages fetched to catch up after a reconnect before the rest is left as a gap. */
const CATCH_UP_PAGES = 10;
/** Live lines are applied at most this often. */
const FLUSH_MS = 100;

const fetchLogs = (app: string, q: Record<string, number>, signal?: AbortSignal) => {
  const qs = new URLSearchParams(Object.entries(q).map(([k, v]) => [k, String(v)]));
  return api<LogsPage>(`/apps/${seg(app)}/logs?${qs.toString()}`, { signal });
};

export type LogsPhase = "loading" | "ready" | "error";

export function useLiveLogs(app: string) {
  const buf = useRef<LogBuffer>(EMPTY_BUFFER);
  const [, render] = useReducer((n: number) => n + 1, 0);
  const [phase, setPhase] = useState<LogsPhase>("loading");
  const [error, setError] = useState<unknown>(null);
  const [paused, setPausedState] = useState(false);
  const [held, setHeld] = useState(0);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<unknown>(null);
  const [filling, setFilling] = useState<string | null>(null);

  // Live entries not applied yet, and why they wait.
  const queue = useRef<LogEntry[]>([]);
  const busy = useRef(true); // loading the first page or catching up
  const pausedRef = useRef(false);
  const droppedPending = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const generation = useRef(0);

  const commit = useCallback((next: LogBuffer) => {
    if (next === buf.current) return;
    buf.current = next;
    render();
  }, []);

  const countHeld = useCallback(() => {
    const last = buf.current.lastSeq;
    let n = 0;
    for (const e of queue.current) if (e.seq > last) n++;
    setHeld(n);
  }, []);

  /** Applies queued live lines unless something holds them. */
  const flush = useCallback(() => {
    if (timer.current) {
      clearTimeout(timer.current);
      timer.current = null;
    }
    if (busy.current || pausedRef.current || queue.current.length === 0) {
      countHeld();
      return;
    }
    const batch = queue.current;
    queue.current = [];
    batch.sort((a, b) => a.seq - b.seq);
    commit(appendEntries(buf.current, batch, { markGaps: true, dropped: droppedPending.current }));
    droppedPending.current = false;
    setHeld(0);
  }, [commit, countHeld]);

  const load = useCallback(async () => {
    const gen = ++generation.current;
    busy.current = true;
    buf.current = EMPTY_BUFFER;
    setPhase("loading");
    setError(null);
    try {
      const page = await fetchLogs(app, { lines: INITIAL_LINES });
      if (gen !== generation.current) return;
      let next = appendEntries(EMPTY_BUFFER, page.entries);
      next = advanceTo(next, page.lastSeq);
      if (page.entries.length < INITIAL_LINES || page.entries[0]?.seq === 1) next = { ...next, reachedStart: true };
      commit(next);
      setPhase("ready");
    } catch (err) {
      if (gen !== generation.current) return;
      setError(err);
      setPhase("error");
    } finally {
      if (gen === generation.current) {
        busy.current = false;
        flush();
      }
    }
  }, [app, commit, flush]);

  useEffect(() => {
    queue.current = [];
    void load();
    return () => {
      generation.current++;
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [load]);

  useStream(app, "logs", (data) => {
    const entries = (data as { entries?: unknown } | null)?.entries;
    if (!Array.isArray(entries) || entries.length === 0) return;
    queue.current.push(...(entries as LogEntry[]));
    // A paused reader keeps the newest lines, up to the buffer's size; the rest becomes a gap on resume.
    if (queue.current.length > MAX_LINES) queue.current.splice(0, queue.current.length - MAX_LINES);
    if (busy.current || pausedRef.current) {
      countHeld();
      return;
    }
    timer.current ??= setTimeout(flush, FLUSH_MS);
  });

  useStreamDropped(app, "logs", () => {
    droppedPending.current = true;
  });

  // Back from a drop: fetch everything after the newest line held, holding live lines meanwhile.
  useStreamReconnect(() => {
    if (phase !== "ready" || busy.current) return;
    const gen = generation.current;
    busy.current = true;
    void (async () => {
      try {
        for (let i = 0; i < CATCH_UP_PAGES; i++) {
          const after = buf.current.lastSeq;
          const page = await fetchLogs(app, { after, lines: MAX_PAGE });
          if (gen !== generation.current) return;
          commit(advanceTo(appendEntries(buf.current, page.entries, { markGaps: true }), page.lastSeq));
          if (page.entries.length < MAX_PAGE || buf.current.lastSeq >= page.lastSeq) break;
        }
      } catch {
        // Live lines still come; whatever is missing shows up as a gap marker that can be loaded later.
      } finally {
        if (gen === generation.current) {
          busy.current = false;
          flush();
        }
      }
    })();
  });

  const setPaused = useCallback(
    (p: boolean) => {
      pausedRef.current = p;
      setPausedState(p);
      if (!p) flush();
    },
    [flush],
  );

  const loadOlder = useCallback(async () => {
    const b = buf.current;
    if (b.reachedStart || loadingOlder) return;
    const room = MAX_LINES - b.lines;
    if (room <= 0) return;
    const gen = generation.current;
    setLoadingOlder(true);
    setOlderError(null);
    try {
      if (b.lines === 0) {
        commit({ ...b, reachedStart: true });
        return;
      }
      const want = Math.min(OLDER_PAGE, room, b.firstSeq - 1);
      if (want <= 0) {
        commit({ ...b, reachedStart: true });
        return;
      }
      const after = b.firstSeq - 1 - want;
      const page = await fetchLogs(app, { after, lines: want });
      if (gen !== generation.current) return;
      const older = page.entries.filter((e) => e.seq < buf.current.firstSeq);
      // Fewer than asked: the store has nothing before them (older segments were rotated away).
      commit(prependEntries(buf.current, older, after === 0 || older.length < want));
    } catch (err) {
      if (gen === generation.current) setOlderError(err);
    } finally {
      if (gen === generation.current) setLoadingOlder(false);
    }
  }, [app, commit, loadingOlder]);

  const fill = useCallback(
    async (gap: LogGap) => {
      const gen = generation.current;
      setFilling(gap.key);
      try {
        const page = await fetchLogs(app, { after: gap.afterSeq, lines: Math.min(gap.count, MAX_PAGE) });
        if (gen !== generation.current) return;
        commit(fillGap(buf.current, gap.key, page.entries));
      } catch {
        // The marker stays; the reader can try again.
      } finally {
        if (gen === generation.current) setFilling(null);
      }
    },
    [app, commit],
  );

  return {
    buffer: buf.current,
    phase,
    error,
    retry: load,
    paused,
    setPaused,
    held,
    loadOlder,
    loadingOlder,
    olderError,
    fill,
    filling,
  };
}
