"use client";
import { useId, useState } from "react";
import { Eye, EyeOff } from "lucide-react";
import { MASK, looksSecret } from "@/components/config/secret";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/cn";
import type { Release } from "@/lib/types";

export interface ConfigDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: number;
  /** Values are known for both releases, so `changed` is meaningful. */
  withValues: boolean;
}

/** What changed in the config from `prev` to `cur` (keys always; changed values only when both carry values). */
export function diffConfig(prev: Release | null, cur: Release): ConfigDiff {
  const before = new Set(prev?.configKeys ?? []);
  const after = new Set(cur.configKeys);
  const withValues = Boolean(cur.config && (prev === null || prev.config));
  const added = cur.configKeys.filter((k) => !before.has(k));
  const removed = [...before].filter((k) => !after.has(k)).sort();
  const both = cur.configKeys.filter((k) => before.has(k));
  const changed = withValues && prev ? both.filter((k) => prev.config?.[k] !== cur.config?.[k]) : [];
  return { added, removed, changed, unchanged: both.length - changed.length, withValues };
}

function Value({ k, value, reveal }: { k: string; value: string | undefined; reveal: boolean }) {
  if (value === undefined) return null;
  const hidden = looksSecret(k) && !reveal;
  return (
    <code
      className={cn("min-w-0 truncate font-mono text-[13px]", hidden ? "text-zinc-400" : "text-zinc-700")}
      title={hidden ? undefined : value}
    >
      {hidden ? MASK : value === "" ? '""' : value}
    </code>
  );
}

const MARK = {
  added: { sign: "+", label: "added", row: "bg-emerald-50/70", sign_: "text-emerald-700" },
  removed: { sign: "−", label: "removed", row: "bg-red-50/70", sign_: "text-red-700" },
  changed: { sign: "~", label: "changed", row: "bg-amber-50/70", sign_: "text-amber-700" },
} as const;

/** The config difference between a release and the one before it, as a list of added/removed/changed keys. */
export function ConfigDiffView({ prev, cur }: { prev: Release | null; cur: Release }) {
  const [reveal, setReveal] = useState(false);
  const id = useId();
  const d = diffConfig(prev, cur);
  const rows = [
    ...d.added.map((k) => ({ k, kind: "added" as const })),
    ...d.removed.map((k) => ({ k, kind: "removed" as const })),
    ...d.changed.map((k) => ({ k, kind: "changed" as const })),
  ].sort((a, b) => a.k.localeCompare(b.k));
  const hasSecrets = d.withValues && rows.some((r) => looksSecret(r.k));

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p id={id} className="text-sm text-zinc-600">
          {prev ? (
            <>
              Config changes from <span className="font-mono">{prev.name}</span> to{" "}
              <span className="font-mono">{cur.name}</span>
            </>
          ) : (
            <>
              Config of <span className="font-mono">{cur.name}</span>, the first release
            </>
          )}
          {d.unchanged > 0 ? <span className="text-zinc-400"> · {d.unchanged} unchanged</span> : null}
        </p>
        {hasSecrets ? (
          <Button variant="ghost" size="sm" aria-pressed={reveal} onClick={() => setReveal((r) => !r)}>
            {reveal ? <EyeOff aria-hidden className="size-4" /> : <Eye aria-hidden className="size-4" />}
            {reveal ? "Hide secret values" : "Show secret values"}
          </Button>
        ) : null}
      </div>
      {rows.length === 0 ? (
        <p className="rounded-md border border-dashed border-zinc-200 px-3 py-2.5 text-sm text-zinc-500">
          {d.withValues ? "No config changes." : "No config vars were added or removed."}
        </p>
      ) : (
        <ul aria-labelledby={id} className="divide-y divide-zinc-100 overflow-hidden rounded-md border border-zinc-200">
          {rows.map(({ k, kind }) => {
            const m = MARK[kind];
            return (
              <li key={`${kind}-${k}`} className={cn("flex flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2", m.row)}>
                <span aria-hidden className={cn("w-3 font-mono font-semibold", m.sign_)}>
                  {m.sign}
                </span>
                <span className="font-mono text-[13px] font-medium text-zinc-900">{k}</span>
                <span className="sr-only">{m.label}</span>
                {d.withValues ? (
                  <span className="flex min-w-0 flex-1 items-center gap-2">
                    {kind === "changed" ? (
                      <>
                        <span className="line-through decoration-zinc-400">
                          <Value k={k} value={prev?.config?.[k]} reveal={reveal} />
                        </span>
                        <span aria-hidden className="text-zinc-400">
                          →
                        </span>
                        <span className="sr-only">to</span>
                      </>
                    ) : null}
                    <Value k={k} value={kind === "removed" ? prev?.config?.[k] : cur.config?.[k]} reveal={reveal} />
                  </span>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      {!d.withValues ? (
        <p className="text-[13px] text-zinc-500">Your role sees config keys only, so changed values are not shown.</p>
      ) : null}
    </div>
  );
}
