import { Anchor } from "lucide-react";
import { cn } from "@/lib/cn";

/** The Berth mark and word. */
export function Logo({
  className,
  withWord = true,
  collapse = false,
}: {
  className?: string;
  withWord?: boolean;
  collapse?: boolean;
}) {
  return (
    <span className={cn("inline-flex items-center gap-2", className)}>
      <span className="flex size-7 items-center justify-center rounded-md bg-zinc-900 text-white shadow-sm">
        <Anchor aria-hidden className="size-4" strokeWidth={2.25} />
      </span>
      {withWord ? (
        <span className={cn("text-[15px] font-semibold tracking-tight text-zinc-900", collapse && "hidden sm:inline")}>
          Berth
        </span>
      ) : null}
    </span>
  );
}
