"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { Check, ChevronsUpDown, Plus } from "lucide-react";
import { Menu, MenuItem, MenuLabel, MenuSeparator } from "@/components/ui/menu";
import { Skeleton } from "@/components/ui/skeleton";
import { useCurrentTeam } from "@/lib/use-current-team";
import { titleCase } from "@/lib/format";

/** A square avatar with the team's initial, coloured by name so teams are told apart at a glance. */
export function TeamAvatar({ name, className = "size-5 text-[11px]" }: { name: string; className?: string }) {
  const palette = [
    "bg-blue-600",
    "bg-emerald-600",
    "bg-violet-600",
    "bg-amber-600",
    "bg-rose-600",
    "bg-cyan-600",
    "bg-zinc-700",
  ];
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return (
    <span
      aria-hidden
      className={`inline-flex shrink-0 items-center justify-center rounded font-semibold text-white uppercase ${palette[h % palette.length]} ${className}`}
    >
      {name.charAt(0)}
    </span>
  );
}

/** The team picker in the top bar; keeps the user on the equivalent page of the newly chosen team. */
export function TeamSwitcher() {
  const { teams, team, setTeam } = useCurrentTeam();
  const pathname = usePathname();
  const router = useRouter();

  if (teams.isPending) return <Skeleton className="h-7 w-32" />;
  if (!team) {
    return (
      <Link href="/teams/new" className="text-sm font-medium text-zinc-700 hover:text-zinc-900">
        Create a team
      </Link>
    );
  }

  const choose = (name: string) => {
    setTeam(name);
    const m = /^\/teams\/[^/]+(\/.*)?$/.exec(pathname);
    if (m && m[1]) router.push(`/teams/${encodeURIComponent(name)}${m[1]}`);
    else if (pathname.startsWith("/apps/")) router.push("/apps");
  };

  return (
    <Menu
      buttonLabel={`Current team: ${team.name}. Switch team`}
      buttonClassName="flex h-8 max-w-80 items-center gap-2 rounded-md px-2 text-sm font-medium text-zinc-900 hover:bg-zinc-100"
      button={
        <>
          <TeamAvatar name={team.name} />
          <span className="truncate" data-testid="current-team">
            {team.name}
          </span>
          {team.personal ? <span className="hidden text-xs font-normal text-zinc-500 sm:inline">Personal</span> : null}
          <ChevronsUpDown aria-hidden className="size-3.5 shrink-0 text-zinc-400" />
        </>
      }
    >
      <MenuLabel>Teams</MenuLabel>
      <div className="max-h-72 overflow-y-auto">
        {(teams.data ?? []).map((t) => (
          <MenuItem key={t.id} checked={t.name === team.name} onSelect={() => choose(t.name)}>
            <TeamAvatar name={t.name} />
            <span className="min-w-0 flex-1 truncate">{t.name}</span>
            <span className="text-xs text-zinc-400">{t.personal ? "Personal" : titleCase(t.role)}</span>
            <Check aria-hidden className={t.name === team.name ? "size-4 text-zinc-900" : "size-4 text-transparent"} />
          </MenuItem>
        ))}
      </div>
      <MenuSeparator />
      <MenuItem href="/teams/new">
        <Plus aria-hidden className="size-4 text-zinc-500" />
        Create team
      </MenuItem>
    </Menu>
  );
}
