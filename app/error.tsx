"use client";
import { useEffect } from "react";
import { Logo } from "@/components/logo";
import { Button } from "@/components/ui/button";

/** Last-resort boundary: a rendering bug should not leave a blank page. */
export default function GlobalError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);
  return (
    <main className="flex min-h-screen flex-col items-center justify-center px-4 text-center">
      <Logo />
      <h1 className="mt-10 text-2xl font-semibold tracking-tight text-zinc-900">Something broke on this page</h1>
      <p className="mt-2 max-w-sm text-sm text-zinc-500">
        The dashboard hit an unexpected error{error.digest ? ` (ref ${error.digest})` : ""}. Your apps are not affected.
      </p>
      <Button className="mt-8" onClick={reset}>
        Try again
      </Button>
    </main>
  );
}
