import Link from "next/link";
import { Logo } from "@/components/logo";
import { buttonClasses } from "@/components/ui/button";

/** Unknown dashboard URLs. */
export default function NotFound() {
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 text-center">
      <Logo />
      <p className="mt-10 font-mono text-sm text-zinc-400">404</p>
      <h1 className="mt-2 text-2xl font-semibold tracking-tight text-zinc-900">This page does not exist</h1>
      <p className="mt-2 max-w-sm text-sm text-zinc-500">
        The link may be old, or the app or team was renamed or deleted.
      </p>
      <Link href="/apps" className={buttonClasses("primary", "md", "mt-8")}>
        Back to your apps
      </Link>
    </main>
  );
}
