// Live build output of an app from the tab's shared stream (lib/stream.ts, channel "builds"): the chunks of every
// build seen since the page opened, and whether the stream saw a build from its first line (then the live text is
// complete; otherwise the stored output up to now is shown first).
"use client";
import { useCallback, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useStream, useStreamReconnect } from "@/lib/stream";
import { buildKeys, type BuildChunk } from "./queries";

export interface LiveBuild {
  id: string;
  /** Text received live, in order. */
  text: string;
  /** When the first chunk arrived (ms since the epoch). */
  since: number;
  /** The stream carried the build's first line ("-----> Building ..."), so `text` is all of it. */
  complete: boolean;
}

/** Live output larger than this keeps only its tail (the stored log has the rest). */
const MAX_LIVE_CHARS = 1024 * 1024;

function isChunk(data: unknown): data is BuildChunk {
  const d = data as Partial<BuildChunk> | null;
  return typeof d?.buildId === "string" && typeof d.text === "string";
}

/** Subscribes to the app's builds channel while mounted; returns live builds by id and the newest one's id. */
export function useLiveBuilds(app: string): { builds: Record<string, LiveBuild>; latest: string | null } {
  const qc = useQueryClient();
  const [state, setState] = useState<{ builds: Record<string, LiveBuild>; latest: string | null }>({
    builds: {},
    latest: null,
  });
  const pending = useRef<BuildChunk[]>([]);
  const frame = useRef<number | null>(null);

  const flush = useCallback(() => {
    frame.current = null;
    const chunks = pending.current;
    pending.current = [];
    let fresh = false;
    setState((prev) => {
      const builds = { ...prev.builds };
      let latest = prev.latest;
      for (const c of chunks) {
        const cur = builds[c.buildId];
        if (!cur) {
          fresh = true;
          latest = c.buildId;
          builds[c.buildId] = {
            id: c.buildId,
            text: c.text,
            since: Date.now(),
            complete: c.text.startsWith("-----> Building "),
          };
        } else {
          const text = cur.text + c.text;
          builds[c.buildId] = { ...cur, text: text.length > MAX_LIVE_CHARS ? text.slice(-MAX_LIVE_CHARS) : text };
        }
      }
      return { builds, latest };
    });
    // A build the list does not know yet: show it in the history.
    if (fresh) void qc.invalidateQueries({ queryKey: buildKeys.list(app) });
  }, [app, qc]);

  useStream(app, "builds", (data) => {
    if (!isChunk(data)) return;
    pending.current.push(data);
    // Batch a burst of lines into one render.
    frame.current ??= requestAnimationFrame(flush);
  });
  // Lines sent while the socket was down are lost: the stored log is the source again.
  useStreamReconnect(() => {
    setState((prev) => ({
      latest: prev.latest,
      builds: Object.fromEntries(
        Object.entries(prev.builds).map(([k, b]) => [k, { ...b, complete: false, text: "", since: Date.now() }]),
      ),
    }));
    void qc.invalidateQueries({ queryKey: buildKeys.list(app) });
  });
  return state;
}
