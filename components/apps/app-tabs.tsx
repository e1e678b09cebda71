"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { cn } from "@/lib/cn";

const TABS = [
  { slug: "", label: "Overview" },
  { slug: "deploy", label: "Deploy" },
  { slug: "releases", label: "Releases" },
  { slug: "config", label: "Config" },
  { slug: "resources", label: "Resources" },
  { slug: "logs", label: "Logs" },
  { slug: "metrics", label: "Metrics" },
  { slug: "console", label: "Console" },
  { slug: "activity", label: "Activity" },
  { slug: "settings", label: "Settings" },
];

/** The app's section tabs; the one matching the current path is marked `aria-current="page"`. */
export function AppTabs({ name }: { name: string }) {
  const pathname = usePathname();
  const base = `/apps/${encodeURIComponent(name)}`;
  return (
    <nav aria-label="App sections" className="-mx-4 mb-8 overflow-x-auto border-b border-zinc-200 px-4 sm:mx-0 sm:px-0">
      <div className="flex gap-1">
        {TABS.map((t) => {
          const href = t.slug ? `${base}/${t.slug}` : base;
          const active = t.slug ? pathname.startsWith(href) : pathname === base;
          return (
            <Link
              key={t.label}
              href={href}
              aria-current={active ? "page" : undefined}
              className={cn(
                "relative rounded-md px-3 py-2.5 text-sm whitespace-nowrap transition-colors focus-visible:outline-offset-[-2px]",
                active ? "font-medium text-zinc-900" : "text-zinc-500 hover:text-zinc-900",
              )}
            >
              {t.label}
              {active ? (
                <span aria-hidden className="absolute inset-x-2 -bottom-px h-0.5 rounded-full bg-zinc-900" />
              ) : null}
            </Link>
          );
        })}
      </div>
    </nav>
  );
}
