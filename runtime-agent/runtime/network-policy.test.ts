import { describe, expect, it } from "vitest";
import {
  gatewayOf,
  groupChain,
  groupOf,
  ingressChain,
  hookCount,
  hookLine,
  hookRules,
  isIpv4Cidr,
  ownedChains,
  policyChains,
  policyLines,
  type PolicyMember,
  type PolicyNode,
  policyRestoreScript,
  removalRestoreScript,
  validMembers,
} from "./network-policy.ts";

const TEAM_A = "clx7k2m9p0000abcd1234aaaa";
const TEAM_B = "clx7k2m9p0000abcd1234bbbb";
const node: PolicyNode = {
  bridge: "berth0",
  gateway: "10.88.0.1",
  resolvers: ["10.88.0.1", "192.0.2.53", "2001:db8::53"],
  routerSources: ["192.0.2.10", "198.51.100.0/24"],
};
const members: PolicyMember[] = [
  { id: "a-web-1", ip: "10.88.0.2", team: TEAM_A },
  { id: "a-worker-1", ip: "10.88.0.3", team: TEAM_A },
  { id: "b-web-1", ip: "10.88.0.4", team: TEAM_B },
];

/** The rules of one chain in a script, without the `-A CHAIN` prefix. */
const rulesOf = (script: string, chain: string) =>
  script
    .split("\n")
    .filter((l) => l.startsWith(`-A ${chain} `))
    .map((l) => l.slice(`-A ${chain} `.length));

describe("names", () => {
  it("derives per-bridge chain names within iptables' 28 characters, distinct per bridge and per group", () => {
    const c = policyChains("berth0");
    const t = groupChain("berth0", groupOf(members[0]!));
    for (const name of [...Object.values(c), t]) expect(name.length).toBeLessThanOrEqual(28);
    expect(c.forward).toMatch(/^BERTH-[0-9a-f]{6}-FWD$/);
    expect(policyChains("berth1").prefix).not.toBe(c.prefix);
    expect(groupChain("berth0", groupOf(members[2]!))).not.toBe(t);
    expect(groupChain("berth0", groupOf(members[1]!))).toBe(t);
  });

  it("puts an instance without a known team in a group of its own", () => {
    expect(groupOf({ id: "old-1", team: undefined })).toBe("instance old-1");
    expect(groupOf({ id: "x", team: 'bad"team' })).toBe("instance x");
    expect(groupOf({ id: "x", team: TEAM_A })).toBe(`team ${TEAM_A}`);
  });

  it("refuses bridge names that could not be interfaces (they reach argv and chain names)", () => {
    expect(() => policyChains("-j ACCEPT")).toThrow();
    expect(() => policyChains("a".repeat(16))).toThrow();
  });
});

describe("gatewayOf and address checks", () => {
  it.each([
    ["10.88.7.0/24", "10.88.7.1"],
    ["10.88.7.5/24", "10.88.7.1"],
    ["10.88.0.0/16", "10.88.0.1"],
    ["172.16.32.0/20", "172.16.32.1"],
  ])("%s -> %s", (subnet, gw) => expect(gatewayOf(subnet)).toBe(gw));

  it("accepts addresses and CIDRs only", () => {
    expect(isIpv4Cidr("10.0.0.1")).toBe(true);
    expect(isIpv4Cidr("10.0.0.0/8")).toBe(true);
    for (const bad of ["10.0.0.256", "10.0.0.0/33", "10.0.0/8", "any", "10.0.0.1 -j ACCEPT", ""])
      expect(isIpv4Cidr(bad)).toBe(false);
  });
});

describe("validMembers", () => {
  it("drops bad ids and addresses, and both claimants of an address", () => {
    const got = validMembers([
      ...members,
      { id: "-rf", ip: "10.88.0.9", team: TEAM_A },
      { id: "bad-ip", ip: "10.88.0.1 -j ACCEPT", team: TEAM_A },
      { id: "stale", ip: "10.88.0.4", team: TEAM_A },
    ]);
    expect(got.map((m) => m.id)).toEqual(["a-web-1", "a-worker-1"]);
  });
});

describe("policyRestoreScript", () => {
  const { script, chains } = policyRestoreScript(node, members);
  const c = policyChains("berth0");
  const teamA = groupChain("berth0", `team ${TEAM_A}`);
  const teamB = groupChain("berth0", `team ${TEAM_B}`);

  it("declares (and so flushes) every chain it fills, in one filter-table transaction", () => {
    const lines = script.split("\n");
    expect(lines[0]).toBe("*filter");
    expect(lines.at(-2)).toBe("COMMIT");
    const declared = lines.filter((l) => l.startsWith(":")).map((l) => l.slice(1).split(" ")[0]);
    expect(declared.sort()).toEqual(chains);
    expect(chains.sort()).toEqual([c.eastWest, c.forward, c.input, c.reject, teamA, teamB].sort());
    // Only its own chains: never a built-in one, never a flush of anything else.
    expect(lines.filter((l) => l.startsWith("-A ") && !l.startsWith(`-A ${c.prefix}-`))).toEqual([]);
  });

  it("sends each instance's connections to its team's chain, which holds exactly the team's addresses", () => {
    expect(rulesOf(script, c.eastWest)).toEqual([
      `-s 10.88.0.2 -m comment --comment "a-web-1" -g ${teamA}`,
      `-s 10.88.0.3 -m comment --comment "a-worker-1" -g ${teamA}`,
      `-s 10.88.0.4 -m comment --comment "b-web-1" -g ${teamB}`,
      `-m comment --comment "unknown source" -j ${c.reject}`,
    ]);
    expect(rulesOf(script, teamA)).toEqual([
      `-d 10.88.0.2 -m comment --comment "a-web-1" -j RETURN`,
      `-d 10.88.0.3 -m comment --comment "a-worker-1" -j RETURN`,
      `-m comment --comment "team ${TEAM_A}" -j ${c.reject}`,
    ]);
    expect(rulesOf(script, teamB)).toEqual([
      `-d 10.88.0.4 -m comment --comment "b-web-1" -j RETURN`,
      `-m comment --comment "team ${TEAM_B}" -j ${c.reject}`,
    ]);
  });

  it("lets in from outside only published ports, only from the router, never on the gateway", () => {
    const fwd = rulesOf(script, c.forward);
    const outside = fwd.filter((r) => r.startsWith("! -i berth0"));
    expect(outside).toEqual([
      `! -i berth0 -m conntrack --ctstate DNAT --ctorigdst 10.88.0.1 -m comment --comment "published on the gateway: for this node only" -j ${c.reject}`,
      `! -i berth0 -s 192.0.2.10 -m conntrack --ctstate DNAT -m comment --comment "published port, router" -j RETURN`,
      `! -i berth0 -s 198.51.100.0/24 -m conntrack --ctstate DNAT -m comment --comment "published port, router" -j RETURN`,
      `! -i berth0 -m comment --comment "not a published port, or not from the router" -j ${c.reject}`,
    ]);
    // Replies first; the outside rules come before any rule for traffic from instances.
    expect(fwd[0]).toBe("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN");
    expect(fwd.indexOf(outside.at(-1)!)).toBe(outside.length);
  });

  it("lets instances reach the IPv4 resolvers and the world, never link-local, then filters by team", () => {
    const fwd = rulesOf(script, c.forward).filter((r) => !r.startsWith("! -i") && !r.includes("ESTABLISHED"));
    expect(fwd).toEqual([
      `-d 10.88.0.1 -p udp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 10.88.0.1 -p tcp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 192.0.2.53 -p udp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 192.0.2.53 -p tcp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 169.254.0.0/16 -m comment --comment "link-local and metadata" -j ${c.reject}`,
      `! -o berth0 -m comment --comment "out of the node" -j RETURN`,
      `-g ${c.eastWest}`,
    ]);
  });

  it("closes the node itself but for replies and the resolvers", () => {
    expect(rulesOf(script, c.input)).toEqual([
      "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      `-d 10.88.0.1 -p udp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 10.88.0.1 -p tcp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 192.0.2.53 -p udp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-d 192.0.2.53 -p tcp --dport 53 -m comment --comment "resolver" -j RETURN`,
      `-m comment --comment "the node itself" -j ${c.reject}`,
    ]);
    expect(rulesOf(script, c.reject)).toEqual([
      // After DNAT (a published port) an ICMP error, which the kernel translates back; a reset would not be.
      '-m conntrack --ctstate DNAT -m comment --comment "through a published port" -j REJECT --reject-with icmp-port-unreachable',
      "-p tcp -j REJECT --reject-with tcp-reset",
      "-j REJECT --reject-with icmp-admin-prohibited",
    ]);
  });

  it("opens the node's public ports (the router here) to instances, TCP only, and nothing else", () => {
    const withRouter = policyRestoreScript({ ...node, publicPorts: [8080, 8443, 8080, 0, 70000] }, members).script;
    const input = rulesOf(withRouter, c.input);
    expect(input.filter((r) => r.includes("public port"))).toEqual([
      `-p tcp --dport 8080 -m comment --comment "public port" -j RETURN`,
      `-p tcp --dport 8443 -m comment --comment "public port" -j RETURN`,
    ]);
    expect(input.at(-1)).toBe(`-m comment --comment "the node itself" -j ${c.reject}`);
  });

  it("never accepts: every rule returns to the host's own chains or rejects", () => {
    const targets = script
      .split("\n")
      .filter((l) => l.startsWith("-A "))
      .map((l) => /-[jg] (\S+)/.exec(l)?.[1]);
    expect(new Set(targets)).toEqual(new Set(["RETURN", "REJECT", c.reject, c.eastWest, teamA, teamB]));
  });

  it("routerSources: any = every source; none = nobody from outside", () => {
    const any = policyRestoreScript({ ...node, routerSources: "any" }, members).script;
    expect(rulesOf(any, c.forward).filter((r) => r.includes('"published port"'))).toEqual([
      `! -i berth0 -m conntrack --ctstate DNAT -m comment --comment "published port" -j RETURN`,
    ]);
    const none = policyRestoreScript({ ...node, routerSources: [] }, members).script;
    expect(rulesOf(none, c.forward).filter((r) => r.includes("-j RETURN") && r.startsWith("! -i"))).toEqual([]);
  });

  it("empties and deletes chains of groups that have left, and leaves other chains alone", () => {
    const { script: next, chains: after } = policyRestoreScript(node, members.slice(0, 2), [
      ...chains,
      "DOCKER-USER",
      "BERTH-ffffff-FWD",
    ]);
    expect(next).toContain(`:${teamB} - [0:0]`);
    expect(next).toContain(`-X ${teamB}`);
    expect(after).not.toContain(teamB);
    expect(next).not.toContain("DOCKER-USER");
    expect(next).not.toContain("BERTH-ffffff");
    // The same members again: same script, nothing dropped (idempotent).
    expect(policyRestoreScript(node, members.slice(0, 2), after).script).not.toContain("-X ");
  });

  it("with no instances, keeps the node's chains and denies everything between instances", () => {
    const { script: empty, chains: left } = policyRestoreScript(node, []);
    expect(left).toEqual([c.eastWest, c.forward, c.input, c.reject].sort());
    expect(rulesOf(empty, c.eastWest)).toEqual([`-m comment --comment "unknown source" -j ${c.reject}`]);
  });
});

describe("hooks and reading back", () => {
  const save = [
    "*filter",
    ":INPUT ACCEPT [0:0]",
    `:${policyChains("berth0").forward} - [0:0]`,
    `:${policyChains("berth0").prefix}-Tabcdef012345 - [0:0]`,
    `:${policyChains("berth1").forward} - [0:0]`,
    // As iptables-save prints the hooks (the comment quoted).
    `-A INPUT -i berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").input}`,
    `-A FORWARD ! -i berth0 -o berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").forward}`,
    `-A FORWARD ! -i berth0 -o berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").forward}`,
    "-A FORWARD -j ACCEPT",
    "COMMIT",
  ].join("\n");

  it("hooks jump from INPUT and FORWARD once per packet, and drop IPv6 on the bridge", () => {
    const hooks = hookRules("berth0");
    expect(hooks.map((h) => `${h.family} ${hookLine(h)}`)).toEqual([
      `4 -A INPUT -i berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").input}`,
      `4 -A FORWARD -i berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").forward}`,
      `4 -A FORWARD ! -i berth0 -o berth0 -m comment --comment "berth node policy berth0" -j ${policyChains("berth0").forward}`,
      `6 -A INPUT -i berth0 -m comment --comment "berth node policy berth0" -j DROP`,
      `6 -A FORWARD -i berth0 -m comment --comment "berth node policy berth0" -j DROP`,
      `6 -A FORWARD -o berth0 -m comment --comment "berth node policy berth0" -j DROP`,
    ]);
    expect(hooks.map((h) => hookCount(save, h))).toEqual([1, 0, 2, 0, 0, 0]);
  });

  it("finds the node's own chains and policy lines, not another bridge's", () => {
    expect(ownedChains(save, "berth0")).toEqual(
      [policyChains("berth0").forward, `${policyChains("berth0").prefix}-Tabcdef012345`].sort(),
    );
    expect(policyLines(save, "berth0")).toHaveLength(5);
    expect(policyLines(save, "berth1")).toHaveLength(1);
  });

  it("removal empties then deletes the chains; nothing to remove is an empty script", () => {
    expect(removalRestoreScript(["X-1", "X-2"])).toBe("*filter\n:X-1 - [0:0]\n:X-2 - [0:0]\n-X X-1\n-X X-2\nCOMMIT\n");
    expect(removalRestoreScript([])).toBe("");
  });
});

describe("per-app ingress (add-ons reachable only from their attached apps)", () => {
  const team = [
    { id: "pg-web-1", ip: "10.88.0.10", team: TEAM_A, app: "postgres-1a2b3c4d" },
    { id: "shop-web-1", ip: "10.88.0.11", team: TEAM_A, app: "shop" },
    { id: "blog-web-1", ip: "10.88.0.12", team: TEAM_A, app: "blog" },
    { id: "other-web-1", ip: "10.88.0.13", team: TEAM_B, app: "shop" },
  ];
  const rule = { team: TEAM_A, app: "postgres-1a2b3c4d", from: ["shop"] };

  it("sends connections to a restricted instance through its ingress chain: attached apps return, the rest reject", () => {
    const { script, chains } = policyRestoreScript(node, team, [], [rule]);
    const ingress = ingressChain("berth0", TEAM_A, "postgres-1a2b3c4d");
    expect(ingress.length).toBeLessThanOrEqual(28);
    expect(chains).toContain(ingress);
    const teamChain = groupChain("berth0", `team ${TEAM_A}`);
    expect(rulesOf(script, teamChain)).toContain(`-d 10.88.0.10 -m comment --comment "pg-web-1" -g ${ingress}`);
    // Unrestricted members of the team stay reachable as before.
    expect(rulesOf(script, teamChain)).toContain(`-d 10.88.0.11 -m comment --comment "shop-web-1" -j RETURN`);
    const rules = rulesOf(script, ingress);
    // The attached app and the add-on's own instances; not the other app of the team, not another team's "shop".
    expect(rules.filter((r) => r.endsWith("-j RETURN")).map((r) => r.split(" ")[1])).toEqual([
      "10.88.0.10",
      "10.88.0.11",
    ]);
    expect(rules.at(-1)).toMatch(new RegExp(`-j ${policyChains("berth0").reject}$`));
  });

  it("detaching (an empty list) leaves only the add-on's own instances; without rules the team policy holds", () => {
    const { script } = policyRestoreScript(node, team, [], [{ ...rule, from: [] }]);
    const ingress = ingressChain("berth0", TEAM_A, "postgres-1a2b3c4d");
    expect(rulesOf(script, ingress).filter((r) => r.endsWith("RETURN"))).toHaveLength(1);
    const plain = policyRestoreScript(node, team, [ingress]);
    expect(plain.chains).not.toContain(ingress);
    expect(plain.script).toContain(`-X ${ingress}`);
  });

  it("ignores rules with bad names and rules for apps without an instance here", () => {
    const { chains } = policyRestoreScript(
      node,
      team,
      [],
      [
        { team: TEAM_A, app: "-j ACCEPT", from: ["shop"] },
        { team: TEAM_A, app: "redis-00000000", from: ["shop"] },
        { team: "x y", app: "postgres-1a2b3c4d", from: [] },
      ],
    );
    expect(chains.some((ch) => ch.includes("-A"))).toBe(false);
  });
});
