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
