import type { ReactNode } from "react";

/** One labelled value of a description list (`<dl>`): a small label above a one-line value. */
export function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-zinc-500">{label}</dt>
      <dd className="mt-1 truncate text-sm text-zinc-900">{children}</dd>
    </div>
  );
}
