// Just enough of npm's semver range syntax to check `engines.node` against the stack's Node.js version:
// comparators (>=, >, <, <=, =), caret (^), tilde (~), x-ranges (18, 18.x, *), hyphen ranges (1 - 2) and `||`.
// Pre-release tags are ignored. Unparseable ranges return null ("unknown"), never a guess.

type V = [number, number, number];

const cmp = (a: V, b: V) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Parses "18.20.4", "v18.20.4-foo" into [18, 20, 4]. */
export function parseVersion(v: string): V | null {
  const m = /^\s*v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

type P = [number | null, number | null, number | null];

/** A partial version: missing or x/X/* parts are null. */
function parsePartial(s: string): P | null {
  const t = s.replace(/^v/, "").replace(/[-+].*$/, "");
  if (t === "" || t === "*" || /^[xX]$/.test(t)) return [null, null, null];
  const parts = t.split(".");
  if (parts.length > 3) return null;
  const out: (number | null)[] = [];
  for (const p of parts) {
    if (/^[xX*]$/.test(p)) out.push(null);
    else if (/^\d+$/.test(p)) out.push(Number(p));
    else return null;
  }
  const [a = null, b = null, c = null] = out;
  // "1.x.3" is not meaningful; everything after the first wildcard is a wildcard.
  if (a === null) return [null, null, null];
  if (b === null) return [a, null, null];
  return [a, b, c];
}

type Bound = { v: V; inclusive: boolean };
type Interval = { lo?: Bound; hi?: Bound };

const fill = (p: P): V => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];

/** Interval of one comparator, e.g. "^18.2" -> [18.2.0, 19.0.0). */
function comparator(c: string): Interval | null {
  const m = /^(>=|<=|>|<|=|\^|~>?|)\s*(.*)$/.exec(c);
  if (!m) return null;
  const op = m[1] ?? "";
  const p = parsePartial(m[2] ?? "");
  if (!p) return null;
  const [maj, min, pat] = p;
  const v = fill(p);
  // The first version past a partial version: 18 -> 19.0.0, 18.2 -> 18.3.0.
  const next = (): V | null =>
    maj === null ? null : min === null ? [maj + 1, 0, 0] : pat === null ? [maj, min + 1, 0] : null;
  switch (op) {
    case ">=":
      return { lo: { v, inclusive: true } };
    case ">": {
      const n = next();
      return n ? { lo: { v: n, inclusive: true } } : { lo: { v, inclusive: false } };
    }
    case "<":
      return maj === null ? { hi: { v: [0, 0, 0], inclusive: false } } : { hi: { v, inclusive: false } };
    case "<=": {
      const n = next();
      return n ? { hi: { v: n, inclusive: false } } : { hi: { v, inclusive: true } };
    }
    case "^": {
      if (maj === null) return {};
      const hi: V =
        maj > 0 || min === null ? [maj + 1, 0, 0] : min > 0 || pat === null ? [0, min + 1, 0] : [0, 0, pat + 1];
      return { lo: { v, inclusive: true }, hi: { v: hi, inclusive: false } };
    }
    case "~":
    case "~>": {
      if (maj === null) return {};
      const hi: V = min === null ? [maj + 1, 0, 0] : [maj, min + 1, 0];
      return { lo: { v, inclusive: true }, hi: { v: hi, inclusive: false } };
    }
    default: {
      const n = next();
      if (maj === null) return {};
      return n
        ? { lo: { v, inclusive: true }, hi: { v: n, inclusive: false } }
        : { lo: { v, inclusive: true }, hi: { v, inclusive: true } };
    }
  }
}

function inInterval(v: V, i: Interval): boolean {
  if (i.lo) {
    const c = cmp(v, i.lo.v);
    if (c < 0 || (c === 0 && !i.lo.inclusive)) return false;
  }
  if (i.hi) {
    const c = cmp(v, i.hi.v);
    if (c > 0 || (c === 0 && !i.hi.inclusive)) return false;
  }
  return true;
}

/** Does `version` satisfy `range`? null when the range cannot be parsed. */
export function satisfies(version: string, range: string): boolean | null {
  const v = parseVersion(version);
  if (!v) return null;
  let any = false;
  for (const alt of range.split("||")) {
    const set = alt.trim();
    let intervals: Interval[] = [];
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(set);
    if (hyphen?.[1] && hyphen[2]) {
      const lo = comparator(`>=${hyphen[1]}`);
      const hi = comparator(`<=${hyphen[2]}`);
      if (!lo || !hi) return null;
      intervals = [lo, hi];
    } else {
      // Allow "> = 18" style spacing between operator and version.
      const tokens = set
        .replace(/(>=|<=|>|<|=|\^|~>?)\s+/g, "$1")
        .split(/\s+/)
        .filter(Boolean);
      for (const t of tokens.length ? tokens : ["*"]) {
        const i = comparator(t);
        if (!i) return null;
        intervals.push(i);
      }
    }
    if (intervals.every((i) => inInterval(v, i))) any = true;
  }
  return any;
}
