"use client";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, type ReactNode } from "react";
import { AppShell } from "@/components/app-shell";
import { Logo } from "@/components/logo";
import { ShellSkeleton } from "@/components/shell-skeleton";
import { ErrorState } from "@/components/ui/error-state";
import { signOutIntent, useSession } from "@/lib/queries";
import { useStreamSignedOut } from "@/lib/stream";

/** Every signed-in page: checks the session, sends signed-out visitors to /login, then draws the shell. */
export default function DashboardLayout({ children }: { children: ReactNode }) {
  const session = useSession();
  const router = useRouter();
  const pathname = usePathname();
  const signedOut = session.isSuccess && session.data === null;
  // The live stream was closed because this session ended (signed out in another tab, or revoked): re-check it, and
  // the effect below sends the user to /login.
  useStreamSignedOut(() => void session.refetch());

  useEffect(() => {
    if (signedOut) {
      const next =
        pathname && pathname !== "/apps" && !signOutIntent.current ? `?next=${encodeURIComponent(pathname)}` : "";
      router.replace(`/login${next}`);
    }
  }, [signedOut, pathname, router]);

  if (session.isError) {
    return (
      <div className="mx-auto max-w-lg px-4 py-24">
        <div className="mb-8 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-lg border border-zinc-200 bg-white">
          <ErrorState error={session.error} title="Berth is not reachable" onRetry={() => void session.refetch()} />
        </div>
      </div>
    );
  }
  if (!session.data) return <ShellSkeleton />;
  return <AppShell session={session.data}>{children}</AppShell>;
}
