// Root tier: the node's network policy with real containers of two teams on one bridge (runc, conmon, CNI, iptables).
// Every "refused" assertion below held the other way before the policy existed (see docs/security.md): instances of
// every team shared one bridge with an empty filter table, and reached each other and every port of the node.
import dgram from "node:dgram";
import net from "node:net";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { describeRoot } from "../../test/helpers/root.ts";
import { createPeerNetns, execIn, fetchFrom, type PeerNetns } from "../test-support/container-net.ts";
import { hostCounts } from "../test-support/host-counts.ts";
import { createRootEnv, type RootEnv } from "../test-support/root-env.ts";
import { run } from "./exec.ts";
import { policyChains } from "./network-policy.ts";
import { networkPolicyLines, removeNetworkPolicy } from "./network-policy-applier.ts";
import { OciBackend } from "./oci-backend.ts";
import { silentLogger } from "../log.ts";

const TEAM_A = "cl0teama0000000000000001";
const TEAM_B = "cl0teamb0000000000000001";
const PORT = 8080;
const CYCLES = 100; // x 2 teams = 200 start/stop cycles

/** A container answering `hi-<id>` on PORT, published on `hostPort`. */
function server(env: RootEnv, id: string, team: string, hostPort: number) {
  return env.container(id, {
    app: team === TEAM_A ? "app-a" : "app-b",
    team,
    port: PORT,
    hostPort,
    command: ["/bin/sh", "-c", `trap 'exit 0' TERM; nc -ll -p ${PORT} -e echo hi-${id} & while :; do sleep 0.1; done`],
  });
}

/** Reads one line from `host:port` on this machine (the node itself, as the router in single-machine mode). */
function fetchHere(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = "";
    s.setTimeout(3000, () => (s.destroy(), resolve(null)));
    s.on("data", (d) => (data += d.toString()));
    s.on("end", () => resolve(data.trim()));
    s.on("error", () => resolve(null));
  });
}

/** A DNS server answering every A query with 10.1.2.3 (enough for busybox nslookup). */
function fakeResolver(address: string): Promise<dgram.Socket> {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (q, rinfo) => {
    const end = q.indexOf(0, 12) + 5; // question: name, type, class
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 1, 2, 3]);
    const header = Buffer.from(q.subarray(0, 12));
    header.writeUInt16BE(0x8180, 2); // response, recursion available, no error
    header.writeUInt16BE(1, 6); // one answer
    sock.send(Buffer.concat([header, q.subarray(12, end), answer]), rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(53, address, () => resolve(sock));
  });
}

describeRoot("node network policy (root)", () => {
  let env: RootEnv;
  let internet: PeerNetns | undefined;
  let listener: net.Server | undefined;
  let resolver: dgram.Socket | undefined;
  const base = 20_000 + Math.floor(Math.random() * 20_000);
  const lan = `10.${203 + Math.floor(Math.random() * 40)}.${1 + Math.floor(Math.random() * 250)}`;
  const runcRoot = () => env.backend.config.runcRoot;
  const ip = async (id: string) => (await env.backend.state(id))?.ip as string;
  const from = (id: string, host: string, port: number) => fetchFrom(runcRoot(), id, host, port);

  beforeAll(async () => {
    env = await createRootEnv({ ipMasq: true, dns: "gateway" });
  });

  afterEach(async () => {
    for (const c of await env.backend.list()) await env.backend.delete(c.id);
  });

  afterAll(async () => {
    listener?.close();
    resolver?.close();
    await internet?.destroy();
    const problems = await env?.destroy();
    expect(problems ?? []).toEqual([]);
    // destroy() removed the policy: not one line of it is left on the host.
    if (env) expect(await networkPolicyLines(env.backend.config.cni.bridge)).toEqual([]);
  });

  async function startAll(specs: ReturnType<typeof server>[]) {
    for (const s of specs) {
      await env.backend.create(s);
      await env.backend.start(s.id);
    }
    for (const s of specs) {
      const addr = await ip(s.id);
      await expect.poll(() => fetchHere(addr, PORT), { timeout: 10_000 }).toBe(`hi-${s.id}`);
    }
  }

  it("lets a team's instances reach each other, and refuses other teams, directly and through published ports", async () => {
    await startAll([
      server(env, "a-1", TEAM_A, base),
      server(env, "a-2", TEAM_A, base + 1),
      server(env, "b-1", TEAM_B, base + 2),
    ]);
    const [a1, a2, b1] = [await ip("a-1"), await ip("a-2"), await ip("b-1")];
    expect(await from("a-1", a2, PORT)).toBe("hi-a-2");
    expect(await from("a-2", a1, PORT)).toBe("hi-a-1");
    expect(await from("a-1", b1, PORT)).toBeNull();
    expect(await from("b-1", a1, PORT)).toBeNull();
    // Published ports are DNAT'd before the filter: the policy sees the real destination.
    expect(await from("b-1", env.gateway, base)).toBeNull();
    expect(await from("a-1", env.gateway, base + 2)).toBeNull();
    expect(await from("a-1", env.gateway, base + 1)).toBe("hi-a-2");
    // The node itself (the router in single-machine mode, the agent's health checks) reaches every instance.
    for (const [addr, port, who] of [
      [env.gateway, base, "a-1"],
      [env.gateway, base + 2, "b-1"],
      [b1, PORT, "b-1"],
    ] as const)
      expect(await fetchHere(addr, port)).toBe(`hi-${who}`);
  });

  it("closes the node itself to instances, over IPv4 and IPv6 link-local, but answers DNS on the platform resolver", async () => {
    // A service on every address of the node, as the control plane, router or sshd would listen.
    listener = net.createServer((s) => s.end("node-service\n"));
    await new Promise<void>((r) => listener?.listen(0, "::", r));
    const port = (listener.address() as net.AddressInfo).port;
    resolver = await fakeResolver(env.gateway);
    await startAll([server(env, "a-1", TEAM_A, base)]);
    expect(await fetchHere(env.gateway, port)).toBe("node-service"); // it does listen there
    expect(await from("a-1", env.gateway, port)).toBeNull();
    // The bridge's IPv6 link-local address (every veth has one): the node's dual-stack services listen there too.
    const { stdout } = await run("/usr/sbin/ip", ["-6", "-o", "addr", "show", "dev", env.backend.config.cni.bridge]);
    const ll = /inet6 (fe80::[0-9a-f:]+)\//.exec(stdout)?.[1];
    expect(ll).toBeDefined();
    expect(await from("a-1", `${ll}%eth0`, port)).toBeNull();
    const dns = await execIn(runcRoot(), "a-1", "nslookup berth-test.example");
    expect(dns.out).toContain("10.1.2.3");
  });

  it("lets instances out through NAT, and refuses connections from outside that are not to published ports", async () => {
    internet = await createPeerNetns({ addresses: [`${lan}.2/24`], outerAddress: `${lan}.1/24` });
    internet.spawn(["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "echo", "internet"]);
    await startAll([server(env, "a-1", TEAM_A, base)]);
    expect(await from("a-1", `${lan}.2`, 7000)).toBe("internet");
    // A machine outside that routes the node's subnet to it: neither an instance's address nor a port published on
    // the gateway is reachable (the node has no router source in this environment).
    await internet.ip(["route", "add", `${env.subnetPrefix}0/24`, "via", `${lan}.1`]);
    const a1 = await ip("a-1");
    const outside = (host: string, port: number) =>
      run("/usr/sbin/ip", ["netns", "exec", internet!.name, "/bin/busybox", "nc", "-w", "2", host, String(port)]).then(
        (r) => r.stdout.trim(),
        () => null,
      );
    expect(await outside(a1, PORT)).toBeNull();
    expect(await outside(env.gateway, base)).toBeNull();
  });

  it("rebuilds without duplicates after an agent restart, and repairs what changed meanwhile", async () => {
    await startAll([server(env, "a-1", TEAM_A, base), server(env, "b-1", TEAM_B, base + 1)]);
    const bridge = env.backend.config.cni.bridge;
    const before = (await networkPolicyLines(bridge)).sort();
    // While "the agent was down": a stray rule in the node's chain and a second copy of a hook.
    const c = policyChains(bridge);
    await run("/usr/sbin/iptables", ["-w", "-I", c.eastWest, "1", "-s", "10.1.1.1", "-j", "RETURN"]);
    await run("/usr/sbin/iptables", [
      "-w",
      "-A",
      "INPUT",
      "-i",
      bridge,
      "-m",
      "comment",
      "--comment",
      `berth node policy ${bridge}`,
      "-j",
      c.input,
    ]);
    const restarted = await OciBackend.open(env.backend.config, silentLogger());
    await restarted.syncNetworkPolicy();
    await restarted.syncNetworkPolicy();
    expect((await networkPolicyLines(bridge)).sort()).toEqual(before);
    expect(await from("a-1", await ip("b-1"), PORT)).toBeNull();
    // The restarted backend removes an instance's rules with it.
    await restarted.delete("b-1");
    expect((await networkPolicyLines(bridge)).length).toBeLessThan(before.length);
  });

  it(`adds and removes rules with the instances: ${CYCLES * 2} start/stop cycles of two teams leave the rule count as it was`, async () => {
    await startAll([server(env, "keep", TEAM_A, base)]); // the chains exist, with one instance in them
    const before = await hostCounts(env.backend, env.tmp);
    for (let i = 0; i < CYCLES; i++) {
      const specs = [server(env, `ca-${i}`, TEAM_A, base + 1), server(env, `cb-${i}`, TEAM_B, base + 2)];
      await Promise.all(specs.map(async (s) => (await env.backend.create(s), await env.backend.start(s.id))));
      if (i % 25 === 0) expect(await from(`cb-${i}`, await ip("keep"), PORT)).toBeNull();
      await Promise.all(specs.map(async (s) => (await env.backend.stop(s.id, 2_000), await env.backend.delete(s.id))));
    }
    expect(await hostCounts(env.backend, env.tmp)).toEqual(before);
    await env.backend.delete("keep");
    // With no instance left, the explicit teardown removes every chain and hook of the node.
    await removeNetworkPolicy(env.backend.config.cni.bridge);
    expect(await networkPolicyLines(env.backend.config.cni.bridge)).toEqual([]);
  }, 900_000);
});
