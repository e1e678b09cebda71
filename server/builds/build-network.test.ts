import { describe, expect, it } from "vitest";
import {
  BLOCKED_RANGES,
  buildNetworkFor,
  cniConflist,
  containersConfText,
  ip6tablesRules,
  iptablesSetupArgs,
  jumpRules,
  parseResolvers,
} from "./build-network.ts";

const net = buildNetworkFor("/var/lib/berth/builder");

describe("buildNetworkFor", () => {
  it("derives names, subnet and paths from the data dir", () => {
    expect(net.tag).toMatch(/^[0-9a-f]{6}$/);
    expect(net.name).toBe(`berth-build-${net.tag}`);
    expect(net.bridge).toBe(`bbuild${net.tag}`);
    expect(net.bridge.length).toBeLessThanOrEqual(15); // IFNAMSIZ
    expect(net.inputChain.length).toBeLessThanOrEqual(28); // iptables chain names
    expect(net.cniDir).toBe("/var/lib/berth/builder/cni");
    expect(net.containersConf).toBe("/var/lib/berth/builder/cni/containers.conf");
  });

  it.each(["/a", "/b", "/var/lib/berth", "/tmp/berth-test-123", "/srv/x/y"])(
    "gives %s a /24 in 10.189-10.248 (apart from the agent's app subnets)",
    (dir) => {
      const n = buildNetworkFor(`${dir}/builder`);
      const m = /^10\.(\d+)\.(\d+)\.0\/24$/.exec(n.subnet);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(189);
      expect(Number(m![1])).toBeLessThanOrEqual(248);
      expect(Number(m![2])).toBeLessThanOrEqual(255);
    },
  );

  it("differs between data dirs and is stable for one", () => {
    expect(buildNetworkFor("/a/builder").tag).not.toBe(buildNetworkFor("/b/builder").tag);
    expect(buildNetworkFor("/a/builder")).toEqual(buildNetworkFor("/a/builder/"));
  });
});

describe("cniConflist", () => {
  it("is a masquerading bridge with host-local IPAM", () => {
    const c = cniConflist(net) as { name: string; plugins: Record<string, unknown>[] };
    expect(c.name).toBe(net.name);
    expect(c.plugins).toHaveLength(1);
    expect(c.plugins[0]).toMatchObject({ type: "bridge", bridge: net.bridge, isGateway: true, ipMasq: true });
    expect(c.plugins[0]!.ipam).toEqual({
      type: "host-local",
      ranges: [[{ subnet: net.subnet }]],
      routes: [{ dst: "0.0.0.0/0" }],
      dataDir: net.ipamDir,
    });
    expect(c.plugins[0]).not.toHaveProperty("mtu");
    expect((cniConflist(net, 1400) as typeof c).plugins[0]).toMatchObject({ mtu: 1400 });
  });

  it("containers.conf selects CNI with our config dir", () => {
    const t = containersConfText(net);
    expect(t).toContain('network_backend = "cni"');
    expect(t).toContain(`network_config_dir = "${net.cniDir}"`);
    expect(t).toContain('cni_plugin_dirs = ["/usr/lib/cni"]');
  });
});

describe("parseResolvers", () => {
  it.each([
    ["nameserver 10.255.255.53\n", [], [{ ip: "10.255.255.53", local: false }]],
    ["nameserver 127.0.0.53\nnameserver 1.1.1.1\n", [], [{ ip: "1.1.1.1", local: false }]],
    ["# c\nnameserver 192.168.1.1\nsearch x\n", ["192.168.1.1"], [{ ip: "192.168.1.1", local: true }]],
    ["nameserver ::1\nnameserver fe80::1\n", [], []],
    ["nameserver 9.9.9.9\nnameserver 9.9.9.9\n", [], [{ ip: "9.9.9.9", local: false }]],
  ])("%j", (conf, local, want) => {
    expect(parseResolvers(conf, local)).toEqual(want);
  });
});

describe("iptables rules", () => {
  const C = net.forwardChain;
  const I = net.inputChain;

  it("jumps by interface (a spoofed source cannot escape)", () => {
    expect(jumpRules(net)).toEqual([
      ["INPUT", "-i", net.bridge, "-j", I],
      ["FORWARD", "-i", net.bridge, "-j", C],
      ["FORWARD", "-o", net.bridge, "-j", C],
    ]);
  });

  it("forward chain: established, no new connections in, DNS to a remote resolver, private ranges refused", () => {
    const args = iptablesSetupArgs(net, [{ ip: "10.255.255.53", local: false }], ["192.0.2.0/24", net.subnet]);
    const fwd = args.filter((a) => a[1] === "-A" && a[2] === C);
    expect(args[0]).toEqual(["-w", "-N", C]);
    expect(fwd[0]).toEqual(["-w", "-A", C, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]);
    expect(fwd[1]).toEqual(["-w", "-A", C, "-o", net.bridge, "-j", "REJECT"]);
    expect(fwd[2]).toEqual(["-w", "-A", C, "-d", "10.255.255.53", "-p", "udp", "--dport", "53", "-j", "ACCEPT"]);
    expect(fwd[3]).toEqual(["-w", "-A", C, "-d", "10.255.255.53", "-p", "tcp", "--dport", "53", "-j", "ACCEPT"]);
    const rejected = fwd.filter((a) => a[3] === "-d" && a.at(-1) === "REJECT").map((a) => a[4]);
    expect(rejected).toEqual([...BLOCKED_RANGES, "192.0.2.0/24"]);
    for (const r of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"])
      expect(rejected).toContain(r);
    expect(fwd.at(-1)).toEqual(["-w", "-A", C, "-j", "ACCEPT"]);
    // DNS is accepted before the private ranges are refused.
    expect(args.indexOf(fwd[2]!)).toBeLessThan(args.indexOf(fwd[4]!));
  });

  it("input chain: everything to the host refused except established and DNS to a resolver on the host", () => {
    const args = iptablesSetupArgs(net, [{ ip: "192.0.2.2", local: true }]);
    expect(args.filter((a) => a[1] === "-A" && a[2] === I)).toEqual([
      ["-w", "-A", I, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
      ["-w", "-A", I, "-d", "192.0.2.2", "-p", "udp", "--dport", "53", "-j", "ACCEPT"],
      ["-w", "-A", I, "-d", "192.0.2.2", "-p", "tcp", "--dport", "53", "-j", "ACCEPT"],
      ["-w", "-A", I, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
      ["-w", "-A", I, "-j", "REJECT"],
    ]);
    // A local resolver is not opened on FORWARD.
    expect(args.some((a) => a[2] === net.forwardChain && a.includes("192.0.2.2"))).toBe(false);
  });

  it("creates the chains before inserting the jumps, jumps at the top", () => {
    const args = iptablesSetupArgs(net, []);
    expect(args.slice(-3)).toEqual([
      ["-w", "-I", "INPUT", "1", "-i", net.bridge, "-j", I],
      ["-w", "-I", "FORWARD", "1", "-i", net.bridge, "-j", C],
      ["-w", "-I", "FORWARD", "1", "-o", net.bridge, "-j", C],
    ]);
    expect(args.findIndex((a) => a[1] === "-N" && a[2] === I)).toBeLessThan(args.length - 3);
    for (const a of args) expect(a[0]).toBe("-w");
  });

  it("drops IPv6 from the bridge", () => {
    expect(ip6tablesRules(net)).toEqual([
      ["INPUT", "-i", net.bridge, "-j", "DROP"],
      ["FORWARD", "-i", net.bridge, "-j", "DROP"],
    ]);
  });
});
