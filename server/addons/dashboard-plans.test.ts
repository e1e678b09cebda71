import { describe, expect, it } from "vitest";
import { ADDON_KINDS, KINDS, addonPlans } from "./catalog.ts";
import { ADDON_KIND_OPTIONS } from "../../lib/addon-plans.ts";

describe("the dashboard's add-on plans", () => {
  it("match the server's allowlist", () => {
    expect(ADDON_KIND_OPTIONS.map((k) => k.kind)).toEqual([...ADDON_KINDS]);
    for (const k of ADDON_KIND_OPTIONS) {
      const plans = addonPlans(k.kind);
      expect(k.plans.map((p) => p.name)).toEqual(Object.keys(plans));
      for (const p of k.plans) {
        expect(p).toEqual({
          name: p.name,
          memoryMb: plans[p.name]?.memoryMb,
          volumeMb: plans[p.name]?.volumeMb,
          maxConnections: plans[p.name]?.maxConnections,
        });
      }
      expect(k.version).toBe(KINDS[k.kind].version);
    }
  });
});
