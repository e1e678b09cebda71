import { describe, expect, it } from "vitest";
import { clean, formatAge, formatDate, formatDuration, formatTable, stripTerminal, truncate } from "./output.ts";

describe("formatTable", () => {
  it("pads every column but the last to its widest cell", () => {
    expect(
      formatTable(
        ["NAME", "TEAM"],
        [
          ["a", "longteam"],
          ["longer-name", "t"],
        ],
      ),
    ).toBe(["NAME         TEAM", "a            longteam", "longer-name  t"].join("\n"));
  });

  it("neutralises terminal escape sequences in cells", () => {
    expect(formatTable(["N"], [["x\u001b[2Jy"]])).toBe("N\nx?[2Jy");
    expect(clean("a\u009bb\nc")).toBe("a?b?c");
  });
});

describe("formatDate", () => {
  it("shortens ISO timestamps and shows - for none", () => {
    expect(formatDate("2024-05-06T07:08:09.000Z")).toBe("2024-05-06 07:08");
    expect(formatDate(null)).toBe("-");
  });
});

describe("stripTerminal", () => {
  it("removes colour, cursor and title sequences whole, keeping the text and newlines", () => {
    expect(stripTerminal("\u001b[1;31mred\u001b[0m text\n")).toBe("red text\n");
    expect(stripTerminal("a\u001b[2J\u001b[Hb\u009b31mc")).toBe("abc");
    expect(stripTerminal("\u001b]0;evil title\u0007ok\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\")).toBe("oklink");
    expect(stripTerminal("\u001bPq#0;2;0;0;0\u001b\\x\u001bcy\u001b(Bz")).toBe("xyz");
  });

  it("drops other control characters, expands tabs and keeps the last state of \\r-rewritten lines", () => {
    expect(stripTerminal("a\u0000b\u0007c\bd\u007f\n")).toBe("abcd\n");
    expect(stripTerminal("x\ty")).toBe("x       y");
    expect(stripTerminal(" 10%\r 50%\r100%\r\nnext\r\n")).toBe("100%\nnext\n");
    expect(stripTerminal("STEP 1/2\nSTEP 2/2")).toBe("STEP 1/2\nSTEP 2/2");
  });

  it("leaves no escape character behind, whatever the input", () => {
    expect(stripTerminal("\u001b]unterminated \u001b")).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe("formatAge / formatDuration / truncate", () => {
  it("formats relative times", () => {
    const now = Date.parse("2024-05-06T12:00:00Z");
    expect(formatAge("2024-05-06T11:59:18Z", now)).toBe("42s");
    expect(formatAge("2024-05-06T11:55:00Z", now)).toBe("5m");
    expect(formatAge("2024-05-05T09:00:00Z", now)).toBe("27h");
    expect(formatAge("2024-04-24T12:00:00Z", now)).toBe("12d");
    expect(formatAge(null, now)).toBe("-");
  });

  it("formats durations and shortens text", () => {
    expect(formatDuration("2024-05-06T12:00:00Z", "2024-05-06T12:00:42Z")).toBe("42s");
    expect(formatDuration("2024-05-06T12:00:00Z", "2024-05-06T12:01:05Z")).toBe("1m05s");
    expect(formatDuration("2024-05-06T12:00:00Z", "2024-05-06T13:02:00Z")).toBe("1h02m");
    expect(formatDuration("2024-05-06T12:00:00Z", null)).toBe("-");
    expect(truncate("abcdef", 5)).toBe("ab...");
    expect(truncate("abc", 5)).toBe("abc");
  });
});
