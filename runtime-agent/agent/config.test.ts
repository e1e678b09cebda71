import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.ts";
import { NEEDS_ROOT } from "./root-check.ts";

const env = { NODE_ENV: "test" as const, BERTH_JOIN_TOKEN: "bn_0123456789abcdef0123" };

describe("loadAgentConfig", () => {
  it("reads env with defaults; flags win", () => {
    const c = loadAgentConfig(["--state-dir=/tmp/a", "--host-ports=31000-31010"], {
      ...env,
      BERTH_CONTROL_PLANE_URL: "http://cp:3000",
      BERTH_STATE_DIR: "/ignored",
    });
    expect(c).toMatchObject({
      controlPlane: "http://cp:3000",
      stateDir: "/tmp/a",
      storageRoot: "/tmp/a/storage",
      runcRoot: "/run/berth/runc",
      cgroupParent: "/berth",
      hostPorts: { min: 31000, max: 31010 },
      ipMasq: true,
      tickMs: 1000,
    });
  });
  it("fails with one line on a missing control plane or an unknown flag", () => {
    expect(() => loadAgentConfig([], env)).toThrow(/invalid agent configuration: controlPlane/);
    expect(() => loadAgentConfig(["--bogus=1"], env)).toThrow();
  });
  it("says it needs root and how to run it, on one line", () => {
    expect(NEEDS_ROOT).toMatch(/needs root/);
    expect(NEEDS_ROOT).toMatch(/sudo/);
    expect(NEEDS_ROOT).not.toContain("\n");
  });
});
