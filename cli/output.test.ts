import { describe, expect, it } from "vitest";
import { clean, formatDate, formatTable } from "./output.ts";

describe("formatTable", () => {
  it("pads every column but the last to its widest cell", () => {
    expect(formatTable(["NAME", "TEAM"], [["a", "longteam"], ["longer-name", "t"]])).toBe(
      ["NAME         TEAM", "a            longteam", "longer-name  t"].join("\n"),
    );
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
