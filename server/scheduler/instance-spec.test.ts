import { describe, expect, it } from "vitest";
import { InstanceSpec } from "../../runtime-agent/protocol/index.ts";
import { instanceSpec, specFingerprint, type SpecRelease, WEB_PORT } from "./instance-spec.ts";

const release: SpecRelease = {
  version: 7,
  imageRef: "shop",
  imageDigest: `sha256:${"a".repeat(64)}`,
  config: JSON.stringify({ GREETING: "hi", BERTH_APP: "spoofed", BERTH_INSTANCE: "x", DYNO: "y" }),
  processTypes: JSON.stringify({ web: "node server.js", worker: "node worker.js" }),
};
const limits = { memoryMb: 256, cpu: 0.5, diskMb: 2048, bandwidthMbit: 50 };
const shop = { name: "shop", teamId: "cm0team0000000000000000001" };

/** The spec of a `processType` instance created while the app's health check path was `healthCheckPath`. */
const spec = (processType: string, healthCheckPath: string | null = null, oneOff?: { command: string }) =>
  instanceSpec(
    { id: `shop-${processType}-1a2b3c4d`, processType, healthCheckPath },
    shop,
    release,
    limits,
    "127.0.0.1:3000",
    oneOff,
  );

describe("instanceSpec", () => {
  it("gives every instance the contract's env; config vars cannot override it", () => {
    expect(spec("web").env).toEqual({
      GREETING: "hi",
      PORT: String(WEB_PORT),
      DYNO: "shop-web-1a2b3c4d",
      BERTH_APP: "shop",
      BERTH_RELEASE: "v7",
      BERTH_PROCESS_TYPE: "web",
      BERTH_INSTANCE: "shop-web-1a2b3c4d",
    });
    const worker = spec("worker").env ?? {};
    expect(worker).toMatchObject({
      BERTH_PROCESS_TYPE: "worker",
      BERTH_INSTANCE: "shop-worker-1a2b3c4d",
      BERTH_RELEASE: "v7",
    });
    // Only web receives HTTP, so only web gets a PORT.
    expect(worker).not.toHaveProperty("PORT");
  });

  it("checks web over TCP by default and over HTTP when the app sets a health check path", () => {
    expect(spec("web").healthCheck).toMatchObject({ type: "tcp" });
    expect(spec("web", "/healthz").healthCheck).toMatchObject({ type: "http", path: "/healthz" });
    expect(spec("web", "/healthz").port).toBe(WEB_PORT);
    // Non-web types have no port to probe, whatever the app's setting.
    expect(spec("worker", "/healthz").healthCheck).toEqual({ type: "none" });
    expect(spec("worker", "/healthz").port).toBeUndefined();
  });

  it("runs the Procfile command through the image's shell, with the release's image and limits", () => {
    const s = spec("worker");
    expect(s.command).toEqual(["/bin/sh", "-c", "node worker.js"]);
    expect(s.image).toBe(`127.0.0.1:3000/shop@${release.imageDigest}`);
    expect(s.limits).toEqual({
      memoryBytes: 256 * 1024 * 1024,
      cpuMillis: 500,
      diskBytes: 2048 * 1024 * 1024,
      bandwidthBitsPerSec: 50_000_000,
    });
    // The CPU request goes along in millicores when the scheduler gives one (the agent's cgroup CPU share).
    const withRequest = instanceSpec(
      { id: "shop-web-1", processType: "web" },
      shop,
      release,
      { ...limits, cpuRequest: 0.25 },
      "reg:5000",
    );
    expect(withRequest.limits).toMatchObject({ cpuMillis: 500, cpuRequestMillis: 250 });
    // The agent keys the instance's user-namespace id range on the app's team.
    expect(s.team).toBe(shop.teamId);
    expect(s.restartPolicy).toBe("always");
  });

  it("one-off: its own command, run once, no port or health check, the same platform env", () => {
    const s = instanceSpec({ id: "shop-run-9f8e7d6c", processType: "run" }, shop, release, limits, "reg:5000", {
      command: "rake db:migrate",
    });
    expect(s.command).toEqual(["/bin/sh", "-c", "rake db:migrate"]);
    expect(s.restartPolicy).toBe("never");
    expect(s.port).toBeUndefined();
    expect(s.healthCheck).toEqual({ type: "none" });
    expect(s.env).toMatchObject({ BERTH_APP: "shop", BERTH_PROCESS_TYPE: "run", BERTH_INSTANCE: "shop-run-9f8e7d6c" });
    expect(s.env).not.toHaveProperty("PORT");
    // A one-off runs in its app's team: the node isolates it from other teams like any instance.
    expect(s.team).toBe(shop.teamId);
  });

  it("carries the app's team, for the node's network policy", () => {
    for (const type of ["web", "worker"]) expect(spec(type).team).toBe(shop.teamId);
  });

  it("produces specs the agent protocol accepts", () => {
    for (const s of [spec("web"), spec("web", "/healthz"), spec("worker"), spec("web", null, { command: "ls" })]) {
      expect(InstanceSpec.safeParse(s).success).toBe(true);
    }
  });
});

describe("specFingerprint", () => {
  const web: { id: string; processType: string; healthCheckPath: string | null } = {
    id: "shop-web-1a2b3c4d",
    processType: "web",
    healthCheckPath: null,
  };
  const fp = (
    o: Partial<{
      instance: typeof web;
      app: string;
      team: string;
      release: string;
      memoryMb: number;
      diskMb: number;
      bandwidthMbit: number;
      host: string;
    }> = {},
  ) =>
    specFingerprint(
      o.instance ?? web,
      { name: o.app ?? "shop", teamId: o.team ?? shop.teamId },
      { id: o.release ?? "rel-7" },
      {
        ...limits,
        memoryMb: o.memoryMb ?? limits.memoryMb,
        diskMb: o.diskMb ?? limits.diskMb,
        bandwidthMbit: o.bandwidthMbit ?? limits.bandwidthMbit,
      },
      o.host ?? "127.0.0.1:3000",
    );

  it("is stable for the same inputs and changes with every input the spec is built from", () => {
    expect(fp()).toBe(fp());
    const variants = [
      fp({ instance: { ...web, id: "shop-web-9f9f9f9f" } }),
      fp({ instance: { ...web, healthCheckPath: "/up" } }),
      fp({ app: "shop2" }),
      fp({ release: "rel-8" }),
      fp({ memoryMb: 512 }),
      fp({ team: "cm0team0000000000000000002" }),
      fp({ diskMb: 4096 }),
      fp({ bandwidthMbit: 10 }),
      fp({ host: "10.0.0.1:3000" }),
      specFingerprint(web, shop, { id: "rel-7" }, limits, "127.0.0.1:3000", { command: "rake db:migrate" }),
    ];
    expect(new Set([fp(), ...variants]).size).toBe(variants.length + 1);
  });
});
