"use client";
import { useEffect, useState } from "react";
import { Check, Copy } from "lucide-react";
import { cn } from "@/lib/cn";

/** Copies text; works on plain-HTTP hosts too, where navigator.clipboard does not exist. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the legacy path
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** An icon button that copies `text` and says so. */
export function CopyButton({
  text,
  label = "Copy",
  tone = "light",
  className,
}: {
  text: string;
  label?: string;
  tone?: "light" | "dark";
  className?: string;
}) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  return (
    <button
      type="button"
      aria-label={copied ? "Copied" : label}
      title={copied ? "Copied" : label}
      onClick={() => {
        void copyText(text).then(setCopied);
      }}
      className={cn(
        "inline-flex size-8 shrink-0 items-center justify-center rounded-md transition-colors focus-visible:outline-2 focus-visible:outline-blue-600",
        tone === "dark"
          ? "text-zinc-400 hover:bg-white/10 hover:text-white"
          : "text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900",
        className,
      )}
    >
      {copied ? <Check aria-hidden className="size-4 text-emerald-500" /> : <Copy aria-hidden className="size-4" />}
      <span className="sr-only" aria-live="polite">
        {copied ? "Copied to clipboard" : ""}
      </span>
    </button>
  );
}

/** A one-line value in monospace with a copy button: commands, URLs, secrets. */
export function CopyField({
  value,
  label,
  tone = "light",
  prompt,
  testId,
}: {
  value: string;
  label: string;
  tone?: "light" | "dark";
  prompt?: string;
  testId?: string;
}) {
  return (
    <div
      className={cn(
        "flex items-center gap-2 rounded-md border py-1 pr-1 pl-3 font-mono text-[13px]",
        tone === "dark" ? "border-zinc-800 bg-zinc-950 text-zinc-100" : "border-zinc-200 bg-zinc-50 text-zinc-800",
      )}
    >
      {prompt ? (
        <span aria-hidden className={tone === "dark" ? "text-zinc-500 select-none" : "text-zinc-400 select-none"}>
          {prompt}
        </span>
      ) : null}
      <code data-testid={testId} className="min-w-0 flex-1 overflow-x-auto py-1 whitespace-nowrap">
        {value}
      </code>
      <CopyButton text={value} label={label} tone={tone} />
    </div>
  );
}
