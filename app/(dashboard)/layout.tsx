"use client";
import { usePathname, useRouter } from "next/navigation";
import { useEffect, type ReactNode } from "react";
import { AppShell } from "@/components/app-shell";
import { Logo } from "@/components/logo";
import { ErrorState } from "@/components/ui/error-state";
import { Skeleton } from "@/components/ui/skeleton";
import { signOutIntent, useSession } from "@/lib/queries";
import { useStreamSignedOut } from "@/lib/stream";

function ShellSkeleton() {
  return (
    <div role="status" aria-label="Loading Berth" className="min-h-screen">
      <div className="border-b border-zinc-200 bg-white">
        <div className="mx-auto flex h-14 max-w-6xl items-center gap-3 px-4 sm:px-6">
          <Logo />
          <Skeleton className="ml-4 h-6 w-32" />
          <Skeleton className="ml-auto size-8 rounded-full" />
        </div>
        <div className="mx-auto flex h-11 max-w-6xl items-center gap-6 px-4 sm:px-6">
          <Skeleton className="h-4 w-12" />
          <Skeleton className="h-4 w-16" />
          <Skeleton className="h-4 w-16" />
        </div>
      </div>
      <div className="mx-auto max-w-6xl px-4 py-8 sm:px-6">
        <Skeleton className="h-7 w-40" />
        <Skeleton className="mt-3 h-4 w-72" />
        <Skeleton className="mt-8 h-64 w-full rounded-lg" />
      </div>
    </div>
  );
}

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
