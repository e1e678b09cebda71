// The build log's SGR parser: styles become classes, everything else that could drive a terminal is dropped.
import { describe, expect, it } from "vitest";
import { parseAnsi } from "../../../../../components/deploy/ansi.ts";

describe("parseAnsi", () => {
  it("turns colours and bold into classes and resets them", () => {
    expect(parseAnsi("\u001b[1;31merror\u001b[0m: done")).toEqual([
      { text: "error", className: "text-red-400 font-semibold" },
      { text: ": done", className: "" },
    ]);
    expect(parseAnsi("\u001b[92mok\u001b[39m")).toEqual([{ text: "ok", className: "text-emerald-300" }]);
    expect(parseAnsi("\u001b[38;5;4mblue\u001b[38;2;1;2;3m rgb\u001b[m")).toEqual([
      { text: "blue rgb", className: "text-sky-400" },
    ]);
  });

  it("keeps text as text: markup stays literal (React escapes it)", () => {
    expect(parseAnsi("<img src=x onerror=alert(1)>")).toEqual([
      { text: "<img src=x onerror=alert(1)>", className: "" },
    ]);
  });

  it("drops other escape sequences and control characters, keeps the last state of \\r lines", () => {
    const text = "a\u001b]0;title\u0007b\u001b[2Kc\u0007d\u001b(B\nprogress 10%\rprogress 100%\r\nend";
    expect(
      parseAnsi(text)
        .map((s) => s.text)
        .join(""),
    ).toBe("abcd\nprogress 100%\nend");
  });

  it("carries a style across lines until reset", () => {
    expect(parseAnsi("\u001b[33mone\ntwo\u001b[0m\nthree")).toEqual([
      { text: "one\ntwo\n", className: "text-amber-300" },
      { text: "three", className: "" },
    ]);
  });
});
