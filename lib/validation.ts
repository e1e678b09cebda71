// Client-side checks with the server's name rules (shared/names.ts), worded for forms so they can explain a problem
// before submitting. The server stays the authority: its error is shown when it disagrees.
import { hasBadDashes, NAME_PATTERN, RESERVED_NAMES } from "../shared/names";

export { NAME_PATTERN };

/** Why `name` is not a valid app or team name, or null if it is. */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "Enter a name.";
  if (name.length < 2) return "Use at least 2 characters.";
  if (name.length > 30) return "Use at most 30 characters.";
  if (!/^[a-z]/.test(name)) return "Start with a lowercase letter.";
  if (!NAME_PATTERN.test(name)) return "Use only lowercase letters, digits and dashes.";
  if (hasBadDashes(name)) return "Do not end with a dash or use two dashes in a row.";
  if (RESERVED_NAMES.has(name)) return `"${name}" is reserved; pick another name.`;
  return null;
}

/** A loose email check for instant feedback (the server normalises and validates for real). */
export function emailProblem(email: string): string | null {
  if (email.trim().length === 0) return "Enter an email address.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return "Enter a valid email address.";
  return null;
}

// Backslashes, whitespace and control characters: browsers drop tabs and newlines from URLs and read `\` as `/`, so
// `/\tevil.test` or `/\\evil.test` become the protocol-relative `//evil.test` only after a check of the raw string.
const UNSAFE_IN_PATH = /[\\\s\u0000-\u001f\u007f]/;
const BASE = "http://same-origin.invalid";

/**
 * Only same-origin absolute paths are followed after sign-in, sign-up or an invitation (no open redirects): one
 * leading `/` (never `//`), no backslash, whitespace or control character, also once percent-decoded, and resolving
 * against this origin must stay on it. Returns the normalized path (with query and fragment), or `fallback`.
 */
export function safeNext(next: string | null | undefined, fallback = "/apps"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || UNSAFE_IN_PATH.test(next)) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return fallback; // malformed percent-encoding
  }
  if (decoded.startsWith("//") || UNSAFE_IN_PATH.test(decoded)) return fallback;
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
