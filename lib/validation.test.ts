import { describe, expect, it } from "vitest";
import { safeNext } from "./validation.ts";

describe("safeNext", () => {
  it.each([
    ["/apps/web", "/apps/web"],
    ["/tokens?tab=all#x", "/tokens?tab=all#x"],
    ["/invite/bi_abc-DEF_123", "/invite/bi_abc-DEF_123"],
    ["/apps/../teams", "/teams"],
  ])("follows the same-origin path %s", (next, want) => {
    expect(safeNext(next)).toBe(want);
  });

  it.each([
    null,
    undefined,
    "",
    "apps",
    "//evil.test/x",
    "/\t/evil.test/x",
    "/\n/evil.test/x",
    "/\r/evil.test",
    "/ /evil.test",
    "/\\evil.test",
    "/\\/evil.test",
    "/x\\y",
    "/%5C/evil.test",
    "/%2F/evil.test",
    "/%2f%2fevil.test",
    "/%09/evil.test",
    "/%E0%A4%A",
    "/\u0000x",
    "/\u007fx",
    "https://evil.test/",
    "javascript:alert(1)",
  ])("falls back for %j", (next) => {
    expect(safeNext(next)).toBe("/apps");
    expect(safeNext(next, "/teams")).toBe("/teams");
  });
});
