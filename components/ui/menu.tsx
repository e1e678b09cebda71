"use client";
import Link from "next/link";
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
  type KeyboardEvent,
  type ReactNode,
} from "react";
import { cn } from "@/lib/cn";

const CloseContext = createContext<() => void>(() => {});

/**
 * A dropdown menu (menu button pattern): Enter/Space/ArrowDown open it and focus the first item, arrows move,
 * Home/End jump, Esc closes and returns focus to the button, Tab or a click outside closes it.
 */
export function Menu({
  button,
  buttonLabel,
  buttonClassName,
  align = "start",
  width = "w-64",
  children,
}: {
  button: ReactNode;
  buttonLabel?: string;
  buttonClassName?: string;
  align?: "start" | "end";
  width?: string;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const menuId = useId();

  const items = () => Array.from(list.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? []);
  const close = useCallback((refocus = true) => {
    setOpen(false);
    if (refocus) trigger.current?.focus();
  }, []);

  useEffect(() => {
    if (!open) return;
    items()[0]?.focus();
    const onPointer = (e: PointerEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("pointerdown", onPointer);
    return () => document.removeEventListener("pointerdown", onPointer);
  }, [open]);

  const onMenuKey = (e: KeyboardEvent) => {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLElement);
    const go = (n: number) => {
      e.preventDefault();
      all[(n + all.length) % all.length]?.focus();
    };
    if (e.key === "ArrowDown") go(i + 1);
    else if (e.key === "ArrowUp") go(i - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(all.length - 1);
    else if (e.key === "Escape") {
      e.preventDefault();
      close();
    } else if (e.key === "Tab") setOpen(false);
  };

  return (
    <div ref={root} className="relative">
      <button
        ref={trigger}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        aria-label={buttonLabel}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
        className={cn(
          "focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600",
          buttonClassName,
        )}
      >
        {button}
      </button>
      {open ? (
        <div
          ref={list}
          id={menuId}
          role="menu"
          onKeyDown={onMenuKey}
          className={cn(
            "absolute z-40 mt-2 overflow-hidden rounded-lg border border-zinc-200 bg-white p-1 shadow-lg",
            align === "end" ? "right-0" : "left-0",
            width,
          )}
        >
          <CloseContext.Provider value={() => close(false)}>{children}</CloseContext.Provider>
        </div>
      ) : null}
    </div>
  );
}

const itemClass =
  "flex w-full items-center gap-2 rounded-md px-2.5 py-2 text-left text-sm text-zinc-700 outline-none hover:bg-zinc-100 focus:bg-zinc-100 focus:text-zinc-900";

/** A menu entry that runs an action or follows a link. */
export function MenuItem({
  onSelect,
  href,
  children,
  className,
  checked,
}: {
  onSelect?: () => void;
  href?: string;
  children: ReactNode;
  className?: string;
  /** Renders as menuitemradio with aria-checked (for pickers). */
  checked?: boolean;
}) {
  const close = useContext(CloseContext);
  const role = checked === undefined ? "menuitem" : "menuitemradio";
  if (href) {
    return (
      <Link href={href} role="menuitem" tabIndex={-1} className={cn(itemClass, className)} onClick={() => close()}>
        {children}
      </Link>
    );
  }
  return (
    <button
      type="button"
      role={role}
      aria-checked={checked}
      tabIndex={-1}
      className={cn(itemClass, className)}
      onClick={() => {
        close();
        onSelect?.();
      }}
    >
      {children}
    </button>
  );
}

/** A thin divider between groups of menu items. */
export function MenuSeparator() {
  return <div role="separator" className="my-1 h-px bg-zinc-200" />;
}

/** A non-interactive caption above a group of items. */
export function MenuLabel({ children }: { children: ReactNode }) {
  return <div className="px-2.5 pt-2 pb-1 text-xs font-medium text-zinc-500">{children}</div>;
}
