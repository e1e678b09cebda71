import { describe, expect, it } from "vitest";
import { dashboardCsp } from "./csp.ts";

const directives = (csp: string) => new Map(csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));

describe("dashboardCsp", () => {
  it("allows only nonce-carrying scripts and no framing", () => {
    const d = directives(dashboardCsp("abc123==", false));
    expect(d.get("script-src")).toEqual(["'self'", "'nonce-abc123=='", "'strict-dynamic'"]);
    expect(d.get("frame-ancestors")).toEqual(["'none'"]);
    expect(d.get("object-src")).toEqual(["'none'"]);
    expect(d.get("base-uri")).toEqual(["'none'"]);
    expect(d.get("connect-src")).toEqual(["'self'"]);
  });

  it("adds 'unsafe-eval' in development only", () => {
    expect(dashboardCsp("n", true)).toContain("'unsafe-eval'");
    expect(dashboardCsp("n", false)).not.toContain("'unsafe-eval'");
  });
});
