import type { ReactNode } from "react";
import { cn } from "@/lib/cn";

export type BadgeTone = "neutral" | "green" | "amber" | "red" | "blue" | "violet";

const tones: Record<BadgeTone, { box: string; dot: string }> = {
  neutral: { box: "bg-zinc-100 text-zinc-700 ring-zinc-200", dot: "bg-zinc-400" },
  green: { box: "bg-emerald-50 text-emerald-700 ring-emerald-200", dot: "bg-emerald-500" },
  amber: { box: "bg-amber-50 text-amber-800 ring-amber-200", dot: "bg-amber-500" },
  red: { box: "bg-red-50 text-red-700 ring-red-200", dot: "bg-red-500" },
  blue: { box: "bg-blue-50 text-blue-700 ring-blue-200", dot: "bg-blue-500" },
  violet: { box: "bg-violet-50 text-violet-700 ring-violet-200", dot: "bg-violet-500" },
};

/** A small pill for states and roles; `dot` adds a status dot. */
export function Badge({
  tone = "neutral",
  dot = false,
  className,
  children,
}: {
  tone?: BadgeTone;
  dot?: boolean;
  className?: string;
  children: ReactNode;
}) {
  const t = tones[tone];
  return (
    <span
      className={cn(
        "inline-flex h-5.5 items-center gap-1.5 rounded-full px-2 text-xs font-medium whitespace-nowrap ring-1 ring-inset",
        t.box,
        className,
      )}
    >
      {dot ? <span aria-hidden className={cn("size-1.5 rounded-full", t.dot)} /> : null}
      {children}
    </span>
  );
}
