import { describe, expect, it } from "vitest";
import { portmapRules, splitRule } from "./network-gc.ts";

const NAT = [
  "-N CNI-DN-aaa",
  "-N CNI-HOSTPORT-DNAT",
  "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
  "-A CNI-DN-aaa -d 10.88.1.1/32 -p tcp -m tcp --dport 30001 -j DNAT --to-destination 10.88.1.9:5000",
  '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth-x\\" id: \\"gone-1\\"" -m multiport --dports 30001 -j CNI-DN-aaa',
  '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth-other\\" id: \\"theirs\\"" -m multiport --dports 30002 -j CNI-DN-bbb',
].join("\n");

describe("network garbage collection", () => {
  it("splits iptables rules with quoted comments into argv", () => {
    expect(splitRule('-A X -m comment --comment "dnat name: \\"n\\" id: \\"i\\"" -j Y')).toEqual([
      "-A",
      "X",
      "-m",
      "comment",
      "--comment",
      'dnat name: "n" id: "i"',
      "-j",
      "Y",
    ]);
  });

  it("finds portmap's rules of its own network only, with the container id and the chain they jump to", () => {
    const rules = portmapRules(NAT, "berth-x");
    expect(rules.map((r) => ({ id: r.id, target: r.target }))).toEqual([{ id: "gone-1", target: "CNI-DN-aaa" }]);
    expect(rules[0]?.argv.slice(0, 2)).toEqual(["-A", "CNI-HOSTPORT-DNAT"]);
    expect(portmapRules(NAT, "berth")).toEqual([]); // a prefix of another network's name is not it
  });
});
