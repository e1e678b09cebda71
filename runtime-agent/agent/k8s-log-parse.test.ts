import { describe, expect, it } from "vitest";
import { MAX_LINE_CHARS, parseK8sRecord, scanK8sChunk } from "./k8s-log-parse.ts";

const T = "2026-11-27T12:00:00.123456789+01:00";
const limits = { maxLines: 1000, maxChars: 1 << 20, flushPartial: false };
const buf = (s: string) => Buffer.from(s, "utf8");

describe("parseK8sRecord", () => {
  it("parses full and partial records of both streams", () => {
    expect(parseK8sRecord(`${T} stdout F hello world`)).toEqual({
      at: T,
      stream: "stdout",
      partial: false,
      text: "hello world",
    });
    expect(parseK8sRecord(`${T} stderr P part`)).toEqual({ at: T, stream: "stderr", partial: true, text: "part" });
    expect(parseK8sRecord("2026-11-27T12:00:00Z stdout F ")).toMatchObject({ text: "" });
    expect(parseK8sRecord("2026-11-27T12:00:00Z stdout F")).toMatchObject({ text: "" });
  });

  it("keeps the text verbatim (spaces, escapes, carriage returns)", () => {
    expect(parseK8sRecord(`${T} stdout F  a  b\r\u001b[31mred`)?.text).toBe(" a  b\r\u001b[31mred");
  });

  it("rejects anything else", () => {
    expect(parseK8sRecord("hello")).toBeNull();
    expect(parseK8sRecord(`${T} stdin F x`)).toBeNull();
    expect(parseK8sRecord(`${T} stdout X x`)).toBeNull();
    expect(parseK8sRecord(`yesterday stdout F x`)).toBeNull();
  });
});

describe("scanK8sChunk", () => {
  it("consumes only newline-terminated records", () => {
    const text = `${T} stdout F one\n${T} stderr F two\n${T} stdout F thr`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines.map((l) => [l.stream, l.text, l.partial])).toEqual([
      ["stdout", "one", false],
      ["stderr", "two", false],
    ]);
    expect(r.consumed).toBe(text.lastIndexOf("\n") + 1);
  });

  it("joins partial records with their end", () => {
    const text = `${T} stdout P abc\n${T} stdout P def\n${T} stdout F ghi\n`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines).toEqual([{ at: T, stream: "stdout", partial: false, text: "abcdefghi" }]);
    expect(r.consumed).toBe(text.length);
  });

  it("leaves an unfinished partial run for the next read, or flushes it when asked", () => {
    const head = `${T} stdout F first\n`;
    const text = `${head}${T} stdout P waiting\n`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines.map((l) => l.text)).toEqual(["first"]);
    expect(r.consumed).toBe(head.length);
    expect(r.pendingPartial).toBe(true);
    const f = scanK8sChunk(buf(text), { ...limits, flushPartial: true });
    expect(f.lines.map((l) => [l.text, l.partial])).toEqual([
      ["first", false],
      ["waiting", true],
    ]);
    expect(f.consumed).toBe(text.length);
    expect(f.pendingPartial).toBe(false);
  });

  it("keeps interleaved streams apart", () => {
    const text = `${T} stdout P out-\n${T} stderr F err\n${T} stdout F more\n`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines.map((l) => [l.stream, l.text, l.partial])).toEqual([
      ["stdout", "out-", true],
      ["stderr", "err", false],
      ["stdout", "more", false],
    ]);
  });

  it("cuts joined lines at MAX_LINE_CHARS", () => {
    const piece = "x".repeat(8192);
    const text = `${T} stdout P ${piece}\n${T} stdout P ${piece}\n${T} stdout P ${piece}\n${T} stdout F end\n`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines.every((l) => l.text.length <= MAX_LINE_CHARS)).toBe(true);
    expect(r.lines.map((l) => l.text).join("")).toBe(piece.repeat(3) + "end");
    expect(r.lines.at(-1)?.partial).toBe(false);
    expect(r.lines[0]?.partial).toBe(true);
    expect(r.consumed).toBe(text.length);
  });

  it("stops at the line limit and resumes exactly", () => {
    const text = Array.from({ length: 10 }, (_, i) => `${T} stdout F l${i}\n`).join("");
    const a = scanK8sChunk(buf(text), { ...limits, maxLines: 4 });
    expect(a.lines.map((l) => l.text)).toEqual(["l0", "l1", "l2", "l3"]);
    const b = scanK8sChunk(buf(text).subarray(a.consumed), { ...limits, maxLines: 100 });
    expect(b.lines.map((l) => l.text)).toEqual(["l4", "l5", "l6", "l7", "l8", "l9"]);
  });

  it("ships malformed records as they are instead of dropping them", () => {
    const r = scanK8sChunk(buf("not a record\n"), limits);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatchObject({ stream: "stdout", text: "not a record", partial: false });
  });

  it("decodes UTF-8 and keeps multi-byte characters whole", () => {
    const text = `${T} stdout F grüße 🚢\n`;
    const r = scanK8sChunk(buf(text), limits);
    expect(r.lines[0]?.text).toBe("grüße 🚢");
    expect(r.consumed).toBe(Buffer.byteLength(text));
  });
});
