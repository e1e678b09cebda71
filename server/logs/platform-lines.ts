// Platform lines in an app's log: the router's access lines (source "router", batched: one append per app every
// 250 ms, not one per request) and the scheduler's decisions (source "berth").
import { isDiskFull } from "../errors.ts";
import type { EventEmitter } from "node:events";
import type { Services } from "../context.ts";
import type { AccessLine } from "../router/haproxy-access.ts";
import { appendAppLog } from "./ingest.ts";
import type { NewLogEntry } from "./store.ts";

const FLUSH_MS = 250;
/** Lines per app kept between flushes; beyond this, a count of skipped lines is written instead. */
const MAX_PENDING = 5_000;

/** One access line the way Heroku's router writes them (key=value, greppable). */
export function formatAccessLine(a: AccessLine): string {
  const bits = [
    `method=${a.method}`,
    `path=${JSON.stringify(a.path)}`,
    `host=${a.host}`,
    `status=${a.status}`,
    `duration=${Math.round(a.durationMs)}ms`,
    `bytes=${a.bytes}`,
    ...(a.upstream ? [`upstream=${a.upstream}`] : []),
    ...(a.requestId ? [`request_id=${a.requestId}`] : []),
  ];
  return bits.join(" ");
}

/** Forwards router access lines and scheduler decisions into app logs; returns a function that stops it. */
export function forwardPlatformLines(
  s: Services,
  router: EventEmitter | undefined,
  scheduler: EventEmitter,
): () => void {
  const pending = new Map<string, { entries: NewLogEntry[]; skipped: number }>();
  const flush = () => {
    for (const [app, batch] of pending) {
      const entries = batch.skipped
        ? [...batch.entries, { source: "router" as const, text: `${batch.skipped} access lines skipped (too many)` }]
        : batch.entries;
      appendAppLog(s, app, entries).catch((err: unknown) =>
        s.log.warn(
          { err, app, lines: entries.length },
          isDiskFull(err)
            ? "router lines dropped: the data dir's disk is full (the app's log gets a marker with the count once there is space)"
            : "writing router lines failed",
        ),
      );
    }
    pending.clear();
  };
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  const onAccess = (a: AccessLine) => {
    if (!a.app) return;
    let batch = pending.get(a.app);
    if (!batch) pending.set(a.app, (batch = { entries: [], skipped: 0 }));
    if (batch.entries.length >= MAX_PENDING) batch.skipped++;
    else batch.entries.push({ source: "router", at: a.at, text: formatAccessLine(a) });
  };
  const onDecision = (app: string, text: string) => {
    appendAppLog(s, app, [{ source: "berth", text }]).catch((err: unknown) =>
      s.log.warn({ err, app }, "writing a platform line failed"),
    );
  };
  router?.on("access", onAccess);
  scheduler.on("decision", onDecision);
  return () => {
    router?.off("access", onAccess);
    scheduler.off("decision", onDecision);
    clearInterval(timer);
    flush();
  };
}
