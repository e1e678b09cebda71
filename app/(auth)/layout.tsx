import Link from "next/link";
import type { ReactNode } from "react";
import { Logo } from "@/components/logo";

/** Centered frame for sign-in, sign-up and invitation pages. */
export default function AuthLayout({ children }: { children: ReactNode }) {
  return (
    <div className="relative flex min-h-screen flex-col items-center px-4 pt-16 pb-10 sm:pt-24">
      <div
        aria-hidden
        className="pointer-events-none absolute inset-x-0 top-0 -z-10 h-80 bg-[radial-gradient(ellipse_at_top,rgba(24,24,27,0.07),transparent_70%)]"
      />
      <Link href="/apps" aria-label="Berth home" className="mb-8 rounded-md">
        <Logo className="scale-110" />
      </Link>
      <main className="w-full max-w-sm">{children}</main>
      <p className="mt-auto pt-12 text-xs text-zinc-400">Berth · self-hosted container cloud</p>
    </div>
  );
}
