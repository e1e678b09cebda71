// What a password must be: 10-200 characters, not only whitespace, not a trivial pattern, not a common password.
// One rule set for every place a password is chosen (sign-up, the BERTH_ADMIN_PASSWORD bootstrap admin).
import { COMMON_PASSWORDS_TEXT } from "./common-passwords.ts";

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 200;

let common: ReadonlySet<string> | undefined;
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(COMMON_PASSWORDS_TEXT.split("\n").filter((l) => l !== ""));
  return common;
}

/**
 * True if `s` is a run of consecutive characters, up or down (abcdefghij, 9876543210); digits wrap around, as on a
 * keyboard's number row (1234567890, 0987654321).
 */
function isSequence(s: string): boolean {
  const digits = /^[0-9]+$/.test(s);
  const stepAt = (i: number) => {
    const d = s.charCodeAt(i) - s.charCodeAt(i - 1);
    return digits ? ((d + 10) % 10 === 9 ? -1 : (d + 10) % 10) : d;
  };
  const step = stepAt(1);
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < s.length; i++) if (stepAt(i) !== step) return false;
  return true;
}

/** True if `s` is one short unit (up to 3 characters) repeated: aaaaaaaaaa, 1212121212, abcabcabca. */
function isRepetition(s: string): boolean {
  for (let unit = 1; unit <= 3; unit++) {
    let repeats = true;
    for (let i = unit; i < s.length && repeats; i++) repeats = s[i] === s[i - unit];
    if (repeats) return true;
  }
  return false;
}

/** Why `password` may not be used, as a sentence for the user, or null if it may. */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD) return `password must be at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `password must be at most ${MAX_PASSWORD} characters`;
  const core = password.trim();
  if (core === "") return "password must not be only spaces";
  const lower = core.toLowerCase();
  if (isRepetition(lower) || isSequence(lower)) {
    return "password is a repeated or sequential pattern; choose a longer passphrase";
  }
  if (commonPasswords().has(lower)) return "password is on a list of common passwords; choose another";
  return null;
}
