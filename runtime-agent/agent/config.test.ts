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
  it("turns user namespaces and disk limits on by default, with the default id range", () => {
    const c = loadAgentConfig([], { ...env, BERTH_CONTROL_PLANE_URL: "http://cp:3000" });
    expect(c).toMatchObject({
      userNamespaces: true,
      diskLimits: true,
      usernsRange: { firstId: 1_000_000, blocks: 16_384 },
    });
    expect(c.runDir).toBeUndefined();
  });
  it("lets a node opt out of user namespaces and disk limits, and set its id range and run dir", () => {
    const c = loadAgentConfig(["--userns-range=200000-331071", "--run-dir=/run/b/containers"], {
      ...env,
      BERTH_CONTROL_PLANE_URL: "http://cp:3000",
      BERTH_USERNS: "off",
      BERTH_DISK_LIMITS: "false",
    });
    expect(c).toMatchObject({
      userNamespaces: false,
      diskLimits: false,
      usernsRange: { firstId: 200_000, blocks: 2 },
      runDir: "/run/b/containers",
    });
  });
  it.each([
    [{ BERTH_USERNS: "maybe" }, /userns: expected on or off/],
    [{ BERTH_DISK_LIMITS: "2G" }, /disk-limits: expected on or off/],
    [{ BERTH_USERNS_RANGE: "1000000" }, /userns-range: .*FIRST-LAST/],
    [{ BERTH_USERNS_RANGE: "0-65535" }, /userns-range: .*65536 or above/],
    [{ BERTH_USERNS_RANGE: "100000-100100" }, /userns-range: .*at least one block/],
  ])("refuses %j with one line", (extra, message) => {
    expect(() => loadAgentConfig([], { ...env, BERTH_CONTROL_PLANE_URL: "http://cp:3000", ...extra })).toThrow(message);
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
