// Everything printed to the terminal: JSON for scripts, aligned tables and key/value lines for people.

// C0/C1 control characters: server data (user names, messages) must not drive the terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Replaces control characters so server-provided text cannot inject terminal escape sequences. */
export function clean(value: string): string {
  return value.replace(CONTROL, "?");
}

// The same, but keeping newlines: for whole multi-line blocks whose cells were already cleaned.
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Writes a line (or block of lines) to stdout, without control characters other than newlines. */
export function println(line = ""): void {
  process.stdout.write(`${line.replace(CONTROL_BUT_NEWLINE, "?")}\n`);
}

/** Writes a line to stderr (notes and warnings that must not mix with parseable stdout). */
export function note(line: string): void {
  process.stderr.write(`${line.replace(CONTROL_BUT_NEWLINE, "?")}\n`);
}

/** Prints a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  println(JSON.stringify(value, null, 2));
}

/** Formats rows under headers with columns padded to the widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows].map((r) => r.map((cell) => clean(cell)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Prints a table, or `empty` when there are no rows. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[], empty: string): void {
  println(rows.length ? formatTable(headers, rows) : empty);
}

/** Prints `key: value` lines with the values aligned. */
export function printFields(fields: readonly (readonly [string, string])[]): void {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  for (const [k, v] of fields) println(`${`${k}:`.padEnd(width)} ${clean(v)}`);
}

/** ISO timestamp as `YYYY-MM-DD HH:MM` (UTC), or `-`. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "-";
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

// Escape sequences as whole units, so stripping them leaves no `[31m` debris: CSI (ESC [ or C1 0x9b), string
// commands ending in BEL or ST (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _, or their C1 forms), and the
// short ESC sequences (ESC, intermediates, final byte: charset switches, resets, keypad modes).
const ESCAPE_SEQUENCE = new RegExp(
  [
    "(?:\\u001b\\[|\\u009b)[\\u0030-\\u003f]*[\\u0020-\\u002f]*[\\u0040-\\u007e]",
    "(?:\\u001b[\\]PX^_]|[\\u009d\\u0090\\u0098\\u009e\\u009f])[^\\u0007\\u001b\\u009c]*(?:\\u0007|\\u001b\\\\|\\u009c)",
    "\\u001b[\\u0020-\\u002f]*[\\u0030-\\u007e]",
  ].join("|"),
  "g",
);
const CONTROL_BUT_NEWLINE_AND_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Expands tabs to spaces at 8-column stops. */
function expandTabs(line: string): string {
  if (!line.includes("\t")) return line;
  let out = "";
  for (const ch of line) out += ch === "\t" ? " ".repeat(8 - (out.length % 8)) : ch;
  return out;
}

/**
 * Makes captured terminal output (build logs) safe to print: escape sequences and control characters are removed,
 * tabs become spaces, and of a line rewritten with carriage returns (progress bars) only its last state is kept.
 * Plain newlines are the only control characters left.
 */
export function stripTerminal(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, "")
    .replace(/\r+\n/g, "\n")
    .split("\n")
    .map((line) => {
      const states = line.split("\r").filter((s) => s.length > 0);
      return expandTabs((states[states.length - 1] ?? "").replace(CONTROL_BUT_NEWLINE_AND_TAB, ""));
    })
    .join("\n");
}

/** Time since an ISO timestamp, kubectl style: `42s`, `5m`, `3h`, `12d`; `-` for none. */
export function formatAge(iso: string | null | undefined, now: number = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return "-";
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Time between two ISO timestamps: `42s`, `1m05s`, `1h02m`; `-` while unfinished. */
export function formatDuration(startIso: string, endIso: string | null | undefined): string {
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : NaN;
  if (Number.isNaN(start) || Number.isNaN(end)) return "-";
  const s = Math.max(0, Math.round((end - start) / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
}

/** Shortens `text` to `max` characters, ending in `...` when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 3))}...`;
}
