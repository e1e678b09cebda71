// Build containers cannot reach the platform's internal services, the host, or private networks (root tier).
// Every target is on this machine: the control plane and registry on loopback, a listener on 0.0.0.0 reached via
// the host's own addresses (LAN, a 10.x address on a veth, the build bridge's gateway), and a listener
// in a network namespace behind a veth on 10.250.x.2 (routed, so it exercises FORWARD). No external traffic.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { acquireBuildNetwork, buildNetworkFor } from "../../server/builds/build-network.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";

const run = promisify(execFile);
const BUSYBOX = "/bin/busybox";
const suffix = Math.floor(Math.random() * 200) + 20;
const NETNS = `bntest${suffix}-${process.pid}`;
const VETH = `bnv${suffix}h`;
const NS_HOST_IP = `10.250.${suffix}.1`;
const NS_IP = `10.250.${suffix}.2`;
const NS_PORT = 18080;

let srv: TestServer;
let token = "";
let listener: http.Server;
let listenPort = 0;
let nsServer: ChildProcess | undefined;
const dirs: string[] = [];

function hostLanIp(): string {
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs ?? [])
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("10.")) return a.address;
  throw new Error("no non-loopback IPv4 address on this host");
}

/**
 * A busybox sh script printing REACHED/BLOCKED for each `ip:port` target: a TCP connect with `nc` (busybox's static
 * wget crashes in a scratch container, which would look like BLOCKED; the host-network control below guards that).
 */
const probeScript = (targets: string[]) =>
  targets
    .map((t) => {
      const [ip, port] = t.split(":");
      return `if /bin/busybox nc -w 3 ${ip} ${port} </dev/null >/dev/null 2>&1; then echo "REACHED ${t}"; else echo "BLOCKED ${t}"; fi`;
    })
    .join("\n");

const results = (out: string) =>
  Object.fromEntries([...out.matchAll(/(REACHED|BLOCKED) (\d+\.\d+\.\d+\.\d+:\d+)\b/g)].map((m) => [m[2]!, m[1]!]));

describeRoot("build network isolation", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { registry: true });
    const owner = new ApiClient(srv.url);
    await owner.signUp("netbuilder@example.com");
    token = (await owner.tokenClient()).token;
    expect((await owner.req("POST", "/api/v1/apps", { name: "net-probe" })).status).toBe(201);
    listener = http.createServer((_req, res) => res.end("listener\n"));
    await new Promise<void>((r) => listener.listen(0, "0.0.0.0", r));
    listenPort = (listener.address() as AddressInfo).port;
    // A 10.x address of this host, and a routed 10.x peer in a network namespace.
    await run("ip", ["netns", "add", NETNS]);
    await run("ip", ["link", "add", VETH, "type", "veth", "peer", "name", "eth0", "netns", NETNS]);
    await run("ip", ["addr", "add", `${NS_HOST_IP}/30`, "dev", VETH]);
    await run("ip", ["link", "set", VETH, "up"]);
    await run("ip", ["-n", NETNS, "addr", "add", `${NS_IP}/30`, "dev", "eth0"]);
    await run("ip", ["-n", NETNS, "link", "set", "eth0", "up"]);
    await run("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
    await run("ip", ["-n", NETNS, "route", "add", "default", "via", NS_HOST_IP]);
    const www = fs.mkdtempSync(path.join(os.tmpdir(), "bn-www-"));
    dirs.push(www);
    fs.writeFileSync(path.join(www, "index.html"), "netns\n");
    nsServer = spawn("ip", ["netns", "exec", NETNS, BUSYBOX, "httpd", "-f", "-p", String(NS_PORT), "-h", www], {
      stdio: "ignore",
    });
    // The listeners work from the host (so BLOCKED below means blocked, not down).
    for (let i = 0; i < 50; i++) {
      if (
        await fetch(`http://${NS_IP}:${NS_PORT}/`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await fetch(`http://${NS_IP}:${NS_PORT}/`)).ok).toBe(true);
    expect((await fetch(`http://${hostLanIp()}:${listenPort}/`)).ok).toBe(true);
  });

  afterAll(async () => {
    if (nsServer?.pid) nsServer.kill("SIGKILL");
    await run("ip", ["netns", "del", NETNS]).catch(() => undefined);
    await run("ip", ["link", "del", VETH]).catch(() => undefined);
    await new Promise((r) => (listener ? listener.close(r) : r(undefined)));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    await srv?.close();
  });

  const targets = () => {
    const reg = srv.cp.registry();
    const net = buildNetworkFor(path.join(srv.dataDir, "builder"));
    const gateway = net.subnet.replace(/\.0\/24$/, ".1");
    return [
      `127.0.0.1:${srv.port}`, // the control plane (and its internal git hook endpoint)
      reg.host, // the platform registry on loopback
      `${hostLanIp()}:${listenPort}`, // the host's LAN address
      `${NS_HOST_IP}:${listenPort}`, // a 10.x address of the host (our veth)
      `${gateway}:${listenPort}`, // the build bridge's own gateway address
      `${NS_IP}:${NS_PORT}`, // another machine on a private network (routed)
    ];
  };

  it("a Dockerfile RUN step reaches none of the platform's services, and the build succeeds", async () => {
    const t = targets();
    const d = await makeRepo({
      Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nCOPY probe.sh /probe.sh\nRUN ["/bin/busybox","sh","/probe.sh"]\nCMD ["/bin/busybox","httpd","-f","-p","5000"]\n`,
      "probe.sh": `${probeScript(t)}\n`,
      busybox: fs.readFileSync(BUSYBOX),
    });
    dirs.push(d);
    const push = await git(d, ["push", remoteUrl(srv.url, "net-probe", token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toMatch(/Released v1/);
    expect(results(push.out), push.out).toEqual(Object.fromEntries(t.map((x) => [x, "BLOCKED"])));
  });

  it("the build network (used for dependency downloads) blocks the host and private networks", async () => {
    const t = targets();
    const storage = {
      root: path.join(srv.dataDir, "builder", "storage"),
      runRoot: path.join(srv.dataDir, "builder", "run"),
    };
    const g = ["--root", storage.root, "--runroot", storage.runRoot, "--storage-driver", "overlay"];
    const ctr = (await run("buildah", [...g, "from", "scratch"])).stdout.trim();
    const net = buildNetworkFor(path.join(srv.dataDir, "builder"));
    try {
      await run("buildah", [...g, "copy", ctr, BUSYBOX, "/bin/busybox"]);
      const probe = (network: string[], env?: NodeJS.ProcessEnv) =>
        run(
          "buildah",
          [
            ...g,
            "run",
            "--runtime",
            "/usr/sbin/runc",
            "--isolation",
            "oci",
            ...network,
            ctr,
            "--",
            "/bin/busybox",
            "sh",
            "-c",
            probeScript(t),
          ],
          { env, timeout: 120_000 },
        ).then((r) => r.stdout);

      // Control: with the host's network the same probe reaches the listeners (so BLOCKED means blocked).
      const open = results(await probe(["--network", "host"]));
      expect(open[`${hostLanIp()}:${listenPort}`]).toBe("REACHED");
      expect(open[`${NS_IP}:${NS_PORT}`]).toBe("REACHED");
      expect(open[`127.0.0.1:${srv.port}`]).toBe("REACHED");

      const lease = await acquireBuildNetwork(path.join(srv.dataDir, "builder"));
      try {
        const rules = (await run("iptables", ["-w", "-S", "FORWARD"])).stdout;
        expect(rules).toContain(`-i ${net.bridge} -j ${net.forwardChain}`);
        const out = await probe(lease.args, lease.env);
        expect(results(out)).toEqual(Object.fromEntries(t.map((x) => [x, "BLOCKED"])));
        // It is a real network with a default route (egress to the internet is what `npm ci` uses).
        const route = await run(
          "buildah",
          [
            ...g,
            "run",
            "--runtime",
            "/usr/sbin/runc",
            "--isolation",
            "oci",
            ...lease.args,
            ctr,
            "--",
            "/bin/busybox",
            "ip",
            "route",
          ],
          { env: lease.env },
        );
        expect(route.stdout).toMatch(/^default via 10\.\d+\.\d+\.1 /m);
      } finally {
        await lease.release();
      }
    } finally {
      await run("buildah", [...g, "rm", ctr]).catch(() => undefined);
    }
  });

  it("leaves no rules and no bridge behind", async () => {
    const net = buildNetworkFor(path.join(srv.dataDir, "builder"));
    await srv.close();
    srv = undefined as unknown as TestServer;
    await expect(run("ip", ["link", "show", net.bridge])).rejects.toThrow();
    await expect(run("iptables", ["-w", "-S", net.forwardChain])).rejects.toThrow();
    await expect(run("iptables", ["-w", "-S", net.inputChain])).rejects.toThrow();
    const all = (await run("iptables", ["-w", "-S"])).stdout + (await run("ip6tables", ["-w", "-S"])).stdout;
    expect(all).not.toContain(net.bridge);
    expect((await run("iptables", ["-w", "-t", "nat", "-S"])).stdout).not.toContain(net.name);
  });
});
