import { describe, expect, it } from "vitest";
import { formatLogEntry, type LogEntry, sanitizeLogText } from "./logs.ts";

const entry = (extra: Partial<LogEntry>): LogEntry => ({
  seq: 1,
  at: "2026-11-27T12:00:00.000Z",
  stream: "stdout",
  source: "app",
  processType: "web",
  instance: "shop-web-1a2b3c4d",
  text: "hello",
  ...extra,
});

describe("formatLogEntry", () => {
  it("formats app, router and platform lines", () => {
    expect(formatLogEntry(entry({}))).toBe("2026-11-27T12:00:00.000Z web[1a2b3c4d]: hello");
    expect(
      formatLogEntry(entry({ source: "router", processType: undefined, instance: undefined, text: "GET / 200" })),
    ).toBe("2026-11-27T12:00:00.000Z router: GET / 200");
    expect(formatLogEntry(entry({ source: "berth", text: "Release v3 deployed" }))).toBe(
      "2026-11-27T12:00:00.000Z berth: Release v3 deployed",
    );
  });
});

describe("sanitizeLogText", () => {
  it("removes escape sequences so log text cannot drive the terminal", () => {
    const evil =
      "\u001b[2J\u001b[H\u001b]0;pwned\u0007\u001b[31mred\u001b[0m \u009b31mc1 \u001bP1$r\u001b\\ bell\u0007 nul\u0000";
    const out = sanitizeLogText(evil);
    expect(out).toBe("red c1  bell nul");
    expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  it("keeps the last state of carriage-return rewrites and shows newlines as \\n", () => {
    expect(sanitizeLogText("10%\r50%\r100%")).toBe("100%");
    expect(sanitizeLogText("one\ntwo")).toBe("one\\ntwo");
    expect(sanitizeLogText("a\tb")).toBe("a       b");
  });

  it("leaves ordinary text and HTML alone (nothing is interpreted)", () => {
    expect(sanitizeLogText("<b>not bold</b> & grüße 🚢")).toBe("<b>not bold</b> & grüße 🚢");
  });
});
