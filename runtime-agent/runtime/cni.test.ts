import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../log.ts";
import { bandwidthRuntimeConfig, bridgeConflist, Cni, type CniNetwork } from "./cni.ts";

// Fake plugins: record env + stdin per call (named by start time: loopback runs beside the chain), answer like a real plugin (ADD passes prevResult through or makes one).
const PLUGIN = `#!/bin/sh
n=$(date +%s%N)-$$
input=$(cat)
printf '%s\\n%s\\n%s\\n%s\\n%s\\n' "$(basename "$0")" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS $CNI_IFNAME" "$input" > "$REC/$n"
[ "$CNI_COMMAND" = DEL ] && exit 0
case "$(basename "$0")" in
  bridge) echo '{"cniVersion":"1.0.0","ips":[{"address":"10.88.7.5/24","gateway":"10.88.7.1"}]}' ;;
  loopback) echo '{"cniVersion":"1.0.0","ips":[{"address":"127.0.0.1/8"}]}' ;;
  *) echo "$input" | sed 's/.*"prevResult":\\(.*\\)}$/\\1/' ;;
esac
`;

let dir: string;
let net: CniNetwork;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-cni-test-"));
  await fs.mkdir(path.join(dir, "plugins"));
  await fs.mkdir(path.join(dir, "rec"));
  for (const p of ["bridge", "portmap", "bandwidth", "loopback"]) {
    // REC is baked in because exec passes the plugins a minimal environment.
    await fs.writeFile(path.join(dir, "plugins", p), PLUGIN.replace("#!/bin/sh", `#!/bin/sh\nREC=${dir}/rec`), {
      mode: 0o755,
    });
  }
  net = {
    pluginDir: path.join(dir, "plugins"),
    networkName: "berth",
    bridge: "berth0",
    subnet: "10.88.7.0/24",
    dataDir: "/tmp/x",
    ipMasq: false,
  };
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function calls() {
  const files = (await fs.readdir(path.join(dir, "rec"))).sort();
  return Promise.all(
    files.map(async (f) => {
      const [plugin, command, id, nsIf, input] = (await fs.readFile(path.join(dir, "rec", f), "utf8")).split("\n");
      return { plugin, command, id, nsIf, conf: JSON.parse(input!) as Record<string, unknown> };
    }),
  );
}

describe("bridgeConflist", () => {
  it("is a bridge with host-local IPAM in the configured data dir, then portmap, then bandwidth", () => {
    expect(bridgeConflist({ ...net, ipMasq: true })).toMatchSnapshot();
  });
  it("never asks portmap for SNAT (which turns route_localnet on for the bridge); the gateway is the subnet's first", () => {
    const list = bridgeConflist(net);
    expect(list.plugins.find((p) => p.type === "portmap")?.snat).toBe(false);
    expect(JSON.stringify(list.plugins[0]?.ipam)).toContain(`"gateway":"10.88.7.1"`);
  });
});

describe("Cni", () => {
  const ports = [{ hostPort: 31000, containerPort: 5000, protocol: "tcp" as const }];

  it("ADD runs loopback beside bridge, portmap, bandwidth with CNI_* env, chains prevResult, injects ports and rate", async () => {
    const att = await new Cni({ ...net, hostIp: "127.0.0.1" }, silentLogger()).add(
      "web-1",
      "/var/run/netns/b-web-1",
      ports,
      { bitsPerSec: 50_000_000 },
    );
    expect(att.ip).toBe("10.88.7.5");
    expect(att.gateway).toBe("10.88.7.1");
    const all = await calls();
    expect(all.filter((x) => x.plugin === "loopback").map((x) => [x.plugin, x.command, x.id, x.nsIf])).toEqual([
      ["loopback", "ADD", "web-1", "/var/run/netns/b-web-1 lo"],
    ]);
    // The eth0 chain in order (loopback is independent of it and runs beside it).
    const c = [{ plugin: "loopback" }, ...all.filter((x) => x.plugin !== "loopback")] as typeof all;
    expect(c.slice(1).map((x) => [x.plugin, x.command, x.id, x.nsIf])).toEqual([
      ["bridge", "ADD", "web-1", "/var/run/netns/b-web-1 eth0"],
      ["portmap", "ADD", "web-1", "/var/run/netns/b-web-1 eth0"],
      ["bandwidth", "ADD", "web-1", "/var/run/netns/b-web-1 eth0"],
    ]);
    expect(c[1]!.conf).toMatchObject({ name: "berth", cniVersion: "1.0.0", bridge: "berth0" });
    expect(c[1]!.conf.runtimeConfig).toBeUndefined();
    expect(c[2]!.conf.runtimeConfig).toEqual({ portMappings: [{ ...ports[0], hostIP: "127.0.0.1" }] });
    expect(c[2]!.conf.prevResult).toMatchObject({ ips: [{ address: "10.88.7.5/24" }] });
    // Same rate both ways, bits per second, with a burst of 100 ms at that rate.
    expect(c[3]!.conf.runtimeConfig).toEqual({
      bandwidth: { ingressRate: 50_000_000, ingressBurst: 5_000_000, egressRate: 50_000_000, egressBurst: 5_000_000 },
    });
    expect(c[3]!.conf.prevResult).toMatchObject({ ips: [{ address: "10.88.7.5/24" }] });
  });

  it("ADD without a bandwidth limit gives the bandwidth plugin no runtimeConfig (it passes the result through)", async () => {
    await new Cni(net, silentLogger()).add("web-1", "/var/run/netns/b-web-1", ports);
    const c = (await calls()).filter((x) => x.plugin !== "loopback");
    expect(c[2]!.plugin).toBe("bandwidth");
    expect(c[2]!.conf.runtimeConfig).toBeUndefined();
  });

  it("ADD without port mappings skips portmap (it would only pass the result through)", async () => {
    const att = await new Cni(net, silentLogger()).add("worker-1", "/var/run/netns/b-worker-1", [], {
      bitsPerSec: 50_000_000,
    });
    expect(att.ip).toBe("10.88.7.5");
    const c = (await calls()).filter((x) => x.plugin !== "loopback");
    expect(c.map((x) => x.plugin)).toEqual(["bridge", "bandwidth"]);
    expect(c[1]!.conf.prevResult).toMatchObject({ ips: [{ address: "10.88.7.5/24" }] });
  });

  it("keeps a burst of at least 64 KiB so a full packet always fits", () => {
    expect(bandwidthRuntimeConfig({ bitsPerSec: 1_000_000 }).ingressBurst).toBe(64 * 1024 * 8);
  });

  it("DEL runs the chain in reverse with the saved result", async () => {
    await new Cni(net, silentLogger()).del("web-1", "/var/run/netns/b-web-1", ports, { ips: [] });
    const c = await calls();
    expect(c.map((x) => [x.plugin, x.command])).toEqual([
      ["bandwidth", "DEL"],
      ["portmap", "DEL"],
      ["bridge", "DEL"],
    ]);
    expect(c[0]!.conf.prevResult).toEqual({ ips: [] });
  });

  it("DEL tries every plugin and then reports the failure", async () => {
    await fs.writeFile(path.join(dir, "plugins", "portmap"), '#!/bin/sh\necho \'{"code":11,"msg":"boom"}\'; exit 1\n', {
      mode: 0o755,
    });
    await expect(new Cni(net, silentLogger()).del("web-1", "/x", ports)).rejects.toThrow(/CNI DEL/);
    expect((await calls()).map((x) => x.plugin)).toEqual(["bandwidth", "bridge"]);
  });
});
