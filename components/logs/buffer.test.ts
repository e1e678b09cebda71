// Logs helpers: the capped buffer in seq order, gap markers and filling them, older pages, control-sequence
// stripping and the filters.
import { describe, expect, it } from "vitest";
import {
  advanceTo,
  appendEntries,
  capBuffer,
  EMPTY_BUFFER,
  facets,
  fillGap,
  filterRows,
  type LogEntry,
  type LogGap,
  type LogRow,
  NO_FILTER,
  prependEntries,
  splitMatches,
  stripControl,
} from "./buffer.ts";

function entry(seq: number, over: Partial<LogEntry> = {}): LogEntry {
  return {
    seq,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    stream: "stdout",
    source: "app",
    processType: "web",
    instance: "aaaa1111",
    text: `line ${seq}`,
    ...over,
  };
}
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
const seqs = (rows: readonly LogRow[]) => rows.map((r) => (r.kind === "line" ? r.line.seq : "gap"));

describe("stripControl", () => {
  it("drops colours, cursor movement, OSC titles and control characters but keeps tabs", () => {
    expect(stripControl("\u001b[1;31merror\u001b[0m: x")).toBe("error: x");
    expect(stripControl("a\u001b[2Kb\u001b]0;title\u0007c\u0000d\u0007e")).toBe("abcde");
    expect(stripControl("col1\tcol2")).toBe("col1\tcol2");
    expect(stripControl("50%\r100%")).toBe("100%");
    expect(stripControl("two\nlines")).toBe("two lines");
  });

  it("leaves markup as text (React escapes it when rendering)", () => {
    expect(stripControl("<script>alert(1)</script>")).toBe("<script>alert(1)</script>");
  });
});

describe("appendEntries", () => {
  it("appends in seq order and skips what it already has", () => {
    let b = appendEntries(EMPTY_BUFFER, range(1, 3));
    b = appendEntries(b, range(2, 5), { markGaps: true });
    expect(seqs(b.rows)).toEqual([1, 2, 3, 4, 5]);
    expect(b).toMatchObject({ lines: 5, firstSeq: 1, lastSeq: 5 });
    expect(appendEntries(b, range(1, 5))).toBe(b);
  });

  it("marks a jump in seq as a gap with the number of missing lines", () => {
    let b = appendEntries(EMPTY_BUFFER, range(1, 2));
    b = appendEntries(b, [entry(10), entry(11)], { markGaps: true, dropped: true });
    expect(seqs(b.rows)).toEqual([1, 2, "gap", 10, 11]);
    expect(b.rows[2]).toMatchObject({ kind: "gap", afterSeq: 2, count: 7, dropped: true });
    expect(b.lines).toBe(4);
  });

  it("does not mark a gap after an empty page that told the newest seq", () => {
    const b = appendEntries(advanceTo(EMPTY_BUFFER, 41), [entry(42)], { markGaps: true });
    expect(seqs(b.rows)).toEqual([42]);
  });

  it("caps the buffer by dropping the oldest lines and leading gaps", () => {
    let b = appendEntries(EMPTY_BUFFER, range(1, 3));
    b = appendEntries(b, range(6, 8), { markGaps: true, cap: 4 });
    expect(seqs(b.rows)).toEqual([3, "gap", 6, 7, 8]);
    b = capBuffer(b, 3);
    expect(seqs(b.rows)).toEqual([6, 7, 8]);
    expect(b).toMatchObject({ lines: 3, firstSeq: 6, reachedStart: false });
  });

  it("holds 100,000 lines and drops the oldest beyond", () => {
    let b = appendEntries(EMPTY_BUFFER, range(1, 100_000));
    expect(b.lines).toBe(100_000);
    b = appendEntries(b, range(100_001, 100_010), { markGaps: true });
    expect(b.lines).toBe(100_000);
    expect(b.firstSeq).toBe(11);
    expect(b.lastSeq).toBe(100_010);
  });
});

describe("prependEntries and fillGap", () => {
  it("puts older lines in front, without duplicates, and notes the start of the store", () => {
    let b = appendEntries(EMPTY_BUFFER, range(50, 60));
    b = prependEntries(b, range(40, 52), false);
    expect(seqs(b.rows).slice(0, 3)).toEqual([40, 41, 42]);
    expect(b).toMatchObject({ lines: 21, firstSeq: 40, reachedStart: false });
    b = prependEntries(b, range(1, 39), true);
    expect(b).toMatchObject({ firstSeq: 1, reachedStart: true, lines: 60 });
  });

  it("never grows past the cap when loading older lines", () => {
    const b = prependEntries(appendEntries(EMPTY_BUFFER, range(50, 60)), range(1, 49), false, 15);
    expect(b.lines).toBe(15);
    expect(b.firstSeq).toBe(46);
  });

  it("fills a gap, leaving a smaller one when the page did not cover it", () => {
    let b = appendEntries(EMPTY_BUFFER, range(1, 2));
    b = appendEntries(b, [entry(10)], { markGaps: true });
    const gap = b.rows[2] as LogGap;
    const partial = fillGap(b, gap.key, range(3, 5));
    expect(seqs(partial.rows)).toEqual([1, 2, 3, 4, 5, "gap", 10]);
    expect(partial.rows[5]).toMatchObject({ afterSeq: 5, count: 4 });
    expect(partial.lines).toBe(6);
    const full = fillGap(b, gap.key, range(3, 12));
    expect(seqs(full.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const lost = fillGap(b, gap.key, []);
    expect(lost.rows[2]).toMatchObject({ kind: "gap", lost: true });
  });
});

describe("filters", () => {
  const b = appendEntries(EMPTY_BUFFER, [
    entry(1, { text: "GET /health 200", source: "router", processType: undefined, instance: undefined }),
    entry(2, { text: "\u001b[31mERROR\u001b[0m db down", stream: "stderr" }),
    entry(3, { text: "worker tick", processType: "worker", instance: "bbbb2222" }),
    entry(4, { text: "listening on 5000" }),
  ]);

  it("filters by process type, instance, stream and source", () => {
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, processType: "worker" }))).toEqual([3]);
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, instance: "aaaa1111" }))).toEqual([2, 4]);
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, stream: "stderr" }))).toEqual([2]);
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, source: "router" }))).toEqual([1]);
    expect(filterRows(b.rows, NO_FILTER)).toBe(b.rows);
  });

  it("searches case-insensitively in the text without escape sequences, keeping gaps", () => {
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, search: "error db" }))).toEqual([2]);
    expect(seqs(filterRows(b.rows, { ...NO_FILTER, search: "31m" }))).toEqual([]);
    const withGap = appendEntries(b, [entry(9, { text: "later" })], { markGaps: true });
    expect(seqs(filterRows(withGap.rows, { ...NO_FILTER, search: "nothing" }))).toEqual(["gap"]);
  });

  it("splits text around matches and lists facets", () => {
    expect(splitMatches("Error, error", "ERROR")).toEqual([
      { text: "Error", match: true },
      { text: ", ", match: false },
      { text: "error", match: true },
    ]);
    expect(facets(b.rows)).toEqual({ processTypes: ["web", "worker"], instances: ["aaaa1111", "bbbb2222"] });
  });
});
