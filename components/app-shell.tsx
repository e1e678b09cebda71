"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { BookOpen, KeyRound, LogOut, Plus } from "lucide-react";
import { Logo } from "@/components/logo";
import { TeamSwitcher } from "@/components/team-switcher";
import { Menu, MenuItem, MenuSeparator } from "@/components/ui/menu";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { cn } from "@/lib/cn";
import { atLeast } from "@/lib/roles";
import { useLogout } from "@/lib/queries";
import type { Session } from "@/lib/types";
import { useCurrentTeam } from "@/lib/use-current-team";

function initials(nameOrEmail: string): string {
  const parts = nameOrEmail.split(/[\s@._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? "?") + (parts[1]?.[0] ?? "")).toUpperCase();
}

function UserMenu({ session }: { session: Session }) {
  const logout = useLogout();
  const toast = useToast();
  const { user } = session;
  // On success the session becomes null and the dashboard layout moves to /login.
  const signOut = () =>
    logout.mutate(undefined, {
      onError: (err) => toast({ tone: "error", title: "Could not sign out", description: errorMessage(err) }),
    });
  return (
    <Menu
      align="end"
      buttonLabel={`Account menu for ${user.email}`}
      buttonClassName="flex size-8 items-center justify-center rounded-full bg-gradient-to-br from-zinc-700 to-zinc-900 text-xs font-semibold text-white hover:opacity-90"
      button={initials(user.name || user.email)}
    >
      <div className="px-2.5 py-2">
        <p className="truncate text-sm font-medium text-zinc-900">{user.name || user.email}</p>
        <p className="truncate text-[13px] text-zinc-500">{user.email}</p>
        {user.isAdmin ? <p className="mt-1 text-xs font-medium text-violet-700">Instance admin</p> : null}
      </div>
      <MenuSeparator />
      <MenuItem href="/tokens">
        <KeyRound aria-hidden className="size-4 text-zinc-500" />
        API tokens
      </MenuItem>
      <MenuItem href="/teams/new">
        <Plus aria-hidden className="size-4 text-zinc-500" />
        Create team
      </MenuItem>
      <MenuSeparator />
      <MenuItem onSelect={signOut}>
        <LogOut aria-hidden className="size-4 text-zinc-500" />
        Sign out
      </MenuItem>
    </Menu>
  );
}

function NavTabs({ isAdmin }: { isAdmin: boolean }) {
  const pathname = usePathname();
  const { team } = useCurrentTeam();
  const base = team ? `/teams/${encodeURIComponent(team.name)}` : null;
  const tabs: { href: string; label: string; match: (p: string) => boolean }[] = [
    { href: "/apps", label: "Apps", match: (p) => p === "/apps" || p.startsWith("/apps/") },
    { href: "/nodes", label: "Nodes", match: (p) => p.startsWith("/nodes") },
  ];
  if (base) {
    tabs.push({ href: `${base}/members`, label: "Members", match: (p) => /^\/teams\/[^/]+\/members/.test(p) });
    if (atLeast(team?.role, "admin")) {
      tabs.push({ href: `${base}/audit`, label: "Audit log", match: (p) => /^\/teams\/[^/]+\/audit/.test(p) });
    }
  }
  tabs.push({ href: "/tokens", label: "API tokens", match: (p) => p.startsWith("/tokens") });
  // The platform's own components: the instance admin only (the API refuses everyone else).
  if (isAdmin) tabs.push({ href: "/status", label: "Platform", match: (p) => p.startsWith("/status") });
  return (
    <nav aria-label="Main" className="-mb-px flex gap-1 overflow-x-auto">
      {tabs.map((t) => {
        const active = t.match(pathname);
        return (
          <Link
            key={t.label}
            href={t.href}
            aria-current={active ? "page" : undefined}
            className={cn(
              "relative rounded-md px-3 py-3 text-sm whitespace-nowrap transition-colors focus-visible:outline-offset-[-2px]",
              active ? "font-medium text-zinc-900" : "text-zinc-500 hover:text-zinc-900",
            )}
          >
            {t.label}
            {active ? (
              <span aria-hidden className="absolute inset-x-2 bottom-0 h-0.5 rounded-full bg-zinc-900" />
            ) : null}
          </Link>
        );
      })}
    </nav>
  );
}

/** The signed-in frame: top bar (logo, team switcher, account), section tabs, and the page. */
export function AppShell({ session, children }: { session: Session; children: ReactNode }) {
  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-white px-3 py-2 text-sm shadow focus:not-sr-only focus:absolute focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <header className="sticky top-0 z-30 border-b border-zinc-200 bg-white/90 backdrop-blur supports-[backdrop-filter]:bg-white/75">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4 sm:px-6">
          <Link href="/apps" aria-label="Berth home" className="rounded-md">
            <Logo collapse />
          </Link>
          <span aria-hidden className="mx-1 text-xl font-light text-zinc-300 sm:mx-2">
            /
          </span>
          <TeamSwitcher />
          <div className="ml-auto flex items-center gap-1 sm:gap-2">
            <a
              href="/api/v1/openapi.json"
              className="hidden items-center gap-1.5 rounded-md px-2.5 py-1.5 text-sm text-zinc-500 hover:bg-zinc-100 hover:text-zinc-900 md:inline-flex"
            >
              <BookOpen aria-hidden className="size-4" />
              API
            </a>
            <UserMenu session={session} />
          </div>
        </div>
        <div className="mx-auto max-w-6xl px-2 sm:px-4">
          <NavTabs isAdmin={session.user.isAdmin} />
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-6xl flex-1 px-4 py-8 sm:px-6">
        {children}
      </main>
      <footer className="mx-auto w-full max-w-6xl px-4 pb-8 text-xs text-zinc-400 sm:px-6">
        Berth · self-hosted container cloud
      </footer>
    </div>
  );
}
