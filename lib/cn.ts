import clsx, { type ClassValue } from "clsx";

/** Joins class names (clsx); components keep their own classes non-conflicting instead of merging. */
export function cn(...values: ClassValue[]): string {
  return clsx(values);
}
