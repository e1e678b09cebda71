"use client";
import { cn } from "@/lib/cn";
import { useStreamStatus } from "@/lib/stream";

const LABELS = {
  idle: { text: "Not live", dot: "bg-zinc-300", hint: "Live updates are off." },
  connecting: { text: "Connecting", dot: "bg-amber-400 animate-pulse", hint: "Connecting to live updates…" },
  open: { text: "Live", dot: "bg-emerald-500", hint: "Updates appear as they happen." },
  reconnecting: {
    text: "Reconnecting",
    dot: "bg-amber-500 animate-pulse",
    hint: "Live updates were lost; retrying. Data refreshes every 15 seconds meanwhile.",
  },
  "signed-out": { text: "Signed out", dot: "bg-zinc-400", hint: "Your session ended; sign in again for live updates." },
} as const;

/** Shows whether the tab's live stream is connected (a dot and a word; the detail is in the tooltip). */
export function LiveIndicator({ className }: { className?: string }) {
  const status = useStreamStatus();
  const l = LABELS[status];
  return (
    <span
      role="status"
      title={l.hint}
      data-testid="live-indicator"
      data-status={status}
      className={cn("inline-flex items-center gap-1.5 text-xs font-medium whitespace-nowrap text-zinc-500", className)}
    >
      <span aria-hidden className={cn("size-2 rounded-full", l.dot)} />
      {l.text}
      <span className="sr-only">: {l.hint}</span>
    </span>
  );
}
