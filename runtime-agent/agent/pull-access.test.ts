import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.ts";
import { controlPlaneRegistryHost, preparePullAccess, pullAuth } from "./pull-access.ts";

const TOKEN = "bn_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configIn(dir: string, extra: string[] = [], cp = "http://10.0.0.1:3000") {
  return loadAgentConfig([`--control-plane=${cp}`, `--join-token=${TOKEN}`, `--state-dir=${dir}`, ...extra], {
    NODE_ENV: "test",
  });
}

describe("pull access to the control plane's registry", () => {
  it("uses the control plane's host:port as the Host header sends it", () => {
    expect(controlPlaneRegistryHost("http://10.0.0.1:3000")).toBe("10.0.0.1:3000");
    expect(controlPlaneRegistryHost("https://Berth.Example.com/")).toBe("berth.example.com");
    expect(controlPlaneRegistryHost("wss://berth.example.com:8443")).toBe("berth.example.com:8443");
  });

  it("adds the join token for that host and keeps the operator's other registries", () => {
    const merged = pullAuth({ auths: { "ghcr.io": { auth: "eA==" } }, credHelpers: { x: "y" } }, "h:1", TOKEN) as {
      auths: Record<string, { auth: string }>;
      credHelpers: unknown;
    };
    expect(merged.auths["ghcr.io"]).toEqual({ auth: "eA==" });
    expect(Buffer.from(merged.auths["h:1"]?.auth ?? "", "base64").toString()).toBe(`node:${TOKEN}`);
    expect(merged.credHelpers).toEqual({ x: "y" });
    expect(() => pullAuth({ auths: "nope" }, "h:1", TOKEN)).toThrow(/auth.json/);
  });

  it("writes a 0600 auth file in the state dir; plain HTTP only for a plain control plane URL", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-pull-"));
    dirs.push(dir);
    const plain = await preparePullAccess(configIn(dir, ["--insecure-registries=reg.local:5000"]));
    expect(plain.authFile).toBe(path.join(dir, "pull-auth.json"));
    expect(fs.statSync(plain.authFile).mode & 0o777).toBe(0o600);
    expect(plain.insecureRegistries).toEqual(["reg.local:5000", "10.0.0.1:3000"]);
    const tls = await preparePullAccess(configIn(dir, [], "https://berth.example.com"));
    expect(tls.insecureRegistries).toEqual([]);
    const file = JSON.parse(fs.readFileSync(tls.authFile, "utf8")) as { auths: Record<string, unknown> };
    expect(Object.keys(file.auths)).toEqual(["berth.example.com"]);
  });
});
