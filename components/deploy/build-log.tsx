// Build output in a terminal-like box: SGR colours as classes on escaped text (never HTML), follows the end while
// new output arrives unless the reader scrolled up.
"use client";
import { useEffect, useLayoutEffect, useMemo, useRef } from "react";
import { cn } from "@/lib/cn";
import { parseAnsi } from "./ansi";

export function BuildLog({
  text,
  label,
  live = false,
  className,
}: {
  text: string;
  label: string;
  live?: boolean;
  className?: string;
}) {
  const segments = useMemo(() => parseAnsi(text.replace(/\n$/, "")), [text]);
  const box = useRef<HTMLPreElement>(null);
  const follow = useRef(true);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const onScroll = () => {
      follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    };
    el.addEventListener("scroll", onScroll, { passive: true });
    return () => el.removeEventListener("scroll", onScroll);
  }, []);
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [segments]);

  return (
    <pre
      ref={box}
      role="log"
      aria-label={label}
      aria-live={live ? "polite" : "off"}
      tabIndex={0}
      data-testid="build-log"
      className={cn(
        "max-h-[28rem] min-h-24 overflow-auto rounded-md bg-zinc-950 px-4 py-3 font-mono text-[12.5px] leading-5 whitespace-pre-wrap break-words text-zinc-200",
        "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600",
        className,
      )}
    >
      {segments.length === 0 ? <span className="text-zinc-500">No output yet.</span> : null}
      {segments.map((s, i) =>
        s.className ? (
          <span key={i} className={s.className}>
            {s.text}
          </span>
        ) : (
          s.text
        ),
      )}
      {live ? (
        <span aria-hidden className="ml-0.5 inline-block h-3.5 w-1.5 translate-y-0.5 animate-pulse bg-zinc-400" />
      ) : null}
    </pre>
  );
}
