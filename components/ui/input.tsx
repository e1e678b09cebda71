import { forwardRef, type InputHTMLAttributes, type SelectHTMLAttributes } from "react";
import { ChevronDown } from "lucide-react";
import { cn } from "@/lib/cn";

const field =
  "block w-full rounded-md border bg-white text-sm text-zinc-900 shadow-xs placeholder:text-zinc-400 transition-colors " +
  "focus-visible:outline-2 focus-visible:outline-offset-0 focus-visible:outline-blue-600 focus-visible:border-blue-600 " +
  "disabled:cursor-not-allowed disabled:bg-zinc-50 disabled:text-zinc-500";

export interface InputProps extends InputHTMLAttributes<HTMLInputElement> {
  invalid?: boolean;
}

/** Text input; `invalid` paints it red and sets aria-invalid. */
export const Input = forwardRef<HTMLInputElement, InputProps>(function Input({ className, invalid, ...rest }, ref) {
  return (
    <input
      ref={ref}
      aria-invalid={invalid || undefined}
      className={cn(field, "h-9 px-3", invalid ? "border-red-400" : "border-zinc-300", className)}
      {...rest}
    />
  );
});

export interface SelectProps extends SelectHTMLAttributes<HTMLSelectElement> {
  invalid?: boolean;
  /** Smaller control for table rows. */
  compact?: boolean;
}

/** Native select (keyboard and screen readers for free) with the same look as Input. */
export const Select = forwardRef<HTMLSelectElement, SelectProps>(function Select(
  { className, invalid, compact, children, ...rest },
  ref,
) {
  return (
    <div className={cn("relative", className)}>
      <select
        ref={ref}
        aria-invalid={invalid || undefined}
        className={cn(
          field,
          "appearance-none pr-8 pl-3",
          compact ? "h-8 text-[13px]" : "h-9",
          invalid ? "border-red-400" : "border-zinc-300",
        )}
        {...rest}
      >
        {children}
      </select>
      <ChevronDown
        aria-hidden
        className="pointer-events-none absolute top-1/2 right-2.5 size-4 -translate-y-1/2 text-zinc-500"
      />
    </div>
  );
});
