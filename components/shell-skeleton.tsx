import { Logo } from "@/components/logo";
import { Skeleton } from "@/components/ui/skeleton";

/** The signed-in shell (top bar, nav, a page) as placeholders, while the session is checked. */
export function ShellSkeleton() {
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
