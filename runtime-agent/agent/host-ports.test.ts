import { describe, expect, it } from "vitest";
import { allocateHostPort, listeningPorts, natMatchedPorts } from "./host-ports.ts";

describe("host ports", () => {
  it("allocates the lowest port not in use and fails when the range is exhausted", () => {
    expect(allocateHostPort(new Set([20_000, 20_002]), 20_000, 20_005)).toBe(20_001);
    expect(() => allocateHostPort(new Set([1025, 1026]), 1025, 1026)).toThrow(/no free host port in 1025-1026/);
  });

  it("finds ports matched by NAT rules: single, multiport lists and ranges", () => {
    const rules = [
      "-N CNI-DN-6803bd91dde1eb2e6e54b",
      "-A CNI-DN-6803bd91dde1eb2e6e54b -d 10.88.221.1/32 -p tcp -m tcp --dport 29281 -j DNAT --to-destination 10.88.221.9:8080",
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"x\\" id: \\"keep\\"" -m multiport --dports 29282,29290:29292 -j CNI-DN-1',
      "-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE",
    ].join("\n");
    expect([...natMatchedPorts(rules)].sort()).toEqual([29281, 29282, 29290, 29291, 29292]);
  });

  it("reads listening sockets from /proc/net/tcp, not connected ones", () => {
    const table = [
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
      "   1: 0100007F:4E21 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1",
    ].join("\n");
    expect([...listeningPorts(table)]).toEqual([8080]);
  });
});
