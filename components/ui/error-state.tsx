import { TriangleExclamationPoint } from "lucide-react";
import { errorMessage, isStatus } from "@/lib/api";
import { cn } from "@/lib/cn";
import { Button } from "./button";

/** A failed load: what went wrong, in words, and a retry when retrying can help. */
export function ErrorState({
  error,
  title,
  message,
  onRetry,
  className,
}: {
  error: unknown;
  title?: string;
  /** Replaces the server's message when the page can say something more useful. */
  message?: string;
  onRetry?: () => void;
  className?: string;
}) {
  const forbidden = isStatus(error, 403);
  const missing = isStatus(error, 404);
  const heading = title ?? (forbidden ? "You do not have access" : missing ? "Not found" : "Could not load this");
  return (
    <div role="alert" className={cn("flex flex-col items-center px-6 py-12 text-center", className)}>
      <div className="flex size-11 items-center justify-center rounded-full border border-red-200 bg-red-50 text-red-600">
        <TriangleExclamationPoint aria-hidden className="size-5" />
      </div>
      <h3 className="mt-4 text-[15px] font-semibold text-zinc-900">{heading}</h3>
      <p className="mt-1 max-w-md text-sm text-zinc-500">{message ?? errorMessage(error)}</p>
      {onRetry && !forbidden && !missing ? (
        <Button variant="secondary" size="sm" className="mt-5" onClick={onRetry}>
          Try again
        </Button>
      ) : null}
    </div>
  );
}

/** An inline error under a form or in a dialog. */
export function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div
      role="alert"
      className="flex items-start gap-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700"
    >
      <TriangleExclamationPoint aria-hidden className="mt-0.5 size-4 shrink-0" />
      <span>{errorMessage(error)}</span>
    </div>
  );
}
