import type { HTMLAttributes, ReactNode } from "react";
import { cn } from "@/lib/cn";

/** A white surface with a hairline border; `tone="danger"` for destructive settings. */
export function Card({
  className,
  tone = "default",
  ...rest
}: HTMLAttributes<HTMLDivElement> & { tone?: "default" | "danger" }) {
  return (
    <div
      className={cn(
        "rounded-lg border bg-white shadow-xs",
        tone === "danger" ? "border-red-200" : "border-zinc-200",
        className,
      )}
      {...rest}
    />
  );
}

/** Card title row with an optional description and actions on the right. */
export function CardHeader({
  title,
  description,
  actions,
  className,
  titleAs: Title = "h2",
  divider = true,
}: {
  title: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
  className?: string;
  titleAs?: "h2" | "h3";
  /** Draw the line under the header (off when the body is a footer strip or nothing). */
  divider?: boolean;
}) {
  return (
    <div
      className={cn(
        "flex flex-wrap items-start justify-between gap-3 px-5 py-4",
        divider && "border-b border-zinc-200",
        className,
      )}
    >
      <div className="min-w-0">
        <Title className="text-[15px] font-semibold text-zinc-900">{title}</Title>
        {description ? <p className="mt-0.5 text-sm text-zinc-500">{description}</p> : null}
      </div>
      {actions ? <div className="flex shrink-0 items-center gap-2">{actions}</div> : null}
    </div>
  );
}

/** Padded card content. */
export function CardBody({ className, ...rest }: HTMLAttributes<HTMLDivElement>) {
  return <div className={cn("px-5 py-4", className)} {...rest} />;
}

/** Grey footer strip, usually with a hint on the left and the action on the right. */
export function CardFooter({
  className,
  tone = "default",
  ...rest
}: HTMLAttributes<HTMLDivElement> & { tone?: "default" | "danger" }) {
  return (
    <div
      className={cn(
        "flex flex-wrap items-center justify-between gap-3 rounded-b-lg border-t px-5 py-3 text-sm",
        tone === "danger" ? "border-red-200 bg-red-50/60 text-red-800" : "border-zinc-200 bg-zinc-50 text-zinc-500",
        className,
      )}
      {...rest}
    />
  );
}
