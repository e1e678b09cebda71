// Per-statement SQL timings for benchmarks: wraps the libSQL driver under Prisma's adapter (statements run
// synchronously on the event loop there, so the time measured is time the loop was blocked). Statements are grouped
// by their text with literals and bound-value lists collapsed. Bench-only: patches the driver's prototypes in place.
import { createRequire } from "node:module";
import path from "node:path";

interface Stat {
  n: number;
  ms: number;
  rows: number;
}

const stats = new Map<string, Stat>();

function key(sql: string): string {
  return sql
    .replace(/\s+/g, " ")
    .replace(/(\?\s*,\s*)+\?/g, "?…")
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 160);
}

function add(sql: string, ms: number, rows: number): void {
  const k = key(sql);
  const s = stats.get(k) ?? { n: 0, ms: 0, rows: 0 };
  s.n++;
  s.ms += ms;
  s.rows += rows;
  stats.set(k, s);
}

type Fn = (...args: unknown[]) => unknown;

/** Starts counting; call before the first query. */
export function profileSql(): void {
  const require = createRequire(import.meta.url);
  const Database = require(
    require.resolve("libsql", { paths: [path.dirname(require.resolve("@prisma/adapter-libsql"))] }),
  ) as {
    prototype: Record<string, Fn>;
  };
  const proto = Database.prototype;
  const prepare = proto.prepare as Fn;
  proto.prepare = function (this: unknown, sql: unknown) {
    const t = performance.now();
    const stmt = prepare.call(this, sql) as Record<string, Fn>;
    add("(prepare, all statements)", performance.now() - t, 0);
    const wrap = (name: string, count: (r: unknown) => number) => {
      const original = stmt[name];
      if (!original) return;
      stmt[name] = (...args: unknown[]) => {
        const t0 = performance.now();
        const r = original.apply(stmt, args);
        if (name === "iterate") {
          // Rows are produced (and the statement stepped) as the iterator is consumed.
          const it = r as { next: () => { done?: boolean } };
          const next = it.next.bind(it);
          let rows = 0;
          let ms = performance.now() - t0;
          it.next = () => {
            const t1 = performance.now();
            const v = next();
            ms += performance.now() - t1;
            if (v.done) add(String(sql), ms, rows);
            else rows++;
            return v;
          };
          return it;
        }
        add(String(sql), performance.now() - t0, count(r));
        return r;
      };
    };
    wrap("run", () => 0);
    // `all` goes through `iterate`.
    wrap("get", () => 1);
    wrap("iterate", () => 0);
    return stmt;
  };
  const exec = proto.exec as Fn;
  proto.exec = function (this: unknown, sql: unknown) {
    const t = performance.now();
    try {
      return exec.call(this, sql);
    } finally {
      add(String(sql), performance.now() - t, 0);
    }
  };
}

/** The statements with the most time, as a Markdown table. */
export function sqlReport(top = 25): string {
  const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  const total = [...stats.values()].reduce((s, x) => s + x.ms, 0);
  let out = `\nSQL on the event loop: ${(total / 1000).toFixed(1)} s in total\n\n`;
  out += "| statement | count | rows | total ms | mean ms |\n|---|---|---|---|---|\n";
  for (const [k, s] of rows) {
    out += `| \`${k.replace(/\|/g, "\\|")}\` | ${s.n} | ${s.rows} | ${s.ms.toFixed(0)} | ${(s.ms / s.n).toFixed(2)} |\n`;
  }
  return out;
}
