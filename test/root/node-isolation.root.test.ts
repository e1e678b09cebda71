// Tenant isolation on the nodes, as an attacker would try it: two teams' apps on two simulated hosts (each its own
// network namespace with a real agent, see helpers/sim-hosts.ts), the control plane and router on this machine, a
// stand-in for the internet and for a cloud metadata service on the LAN. From inside a team-A instance: its own
// team's instance on its node answers; team B's instances, on its node or the other, do not (directly, or through
// their published ports); nor do its node's own services or the metadata address; the internet and the router do,
// and the router serves both teams' apps. Every refusal here held the other way before the node's network policy.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { createSimLan, type SimHost, type SimLan } from "../helpers/sim-hosts.ts";
import { until } from "../helpers/until.ts";
import { run } from "../../runtime-agent/runtime/exec.ts";
import {
  createPeerNetns,
  httpFrom,
  fetchFrom,
  type PeerNetns,
} from "../../runtime-agent/test-support/container-net.ts";

const A = "iso-a";
const B = "iso-b";
const WEB = 5000;
const METADATA = "169.254.169.254";

interface InstanceView {
  id: string;
  state: string;
  processType: string;
  hostPort: number | null;
  node: { id: string; name: string } | null;
}

let lan: SimLan;
let srv: TestServer;
let peer: PeerNetns | undefined;
const owners: Record<string, ApiClient> = {};
const repos: string[] = [];
const listeners: ChildProcess[] = [];
const nodeServicePort = 7100 + Math.floor(Math.random() * 800);

/** GET through the router on the LAN address; never rejects (status 0 = connection failure). */
function viaRouter(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: lan.gateway,
        port: srv.cp.services.config.routerPort,
        path: "/cgi-bin/who",
        headers: { host },
        timeout: 10_000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

const web = async (app: string) =>
  (await owners[app]!.req<InstanceView[]>("GET", `/api/v1/apps/${app}/instances`)).body.filter(
    (i) => i.processType === "web",
  );
const hostOf = (i: InstanceView): SimHost => {
  const h = lan.hosts.find((x) => i.node?.name.endsWith(`-${x.name}`));
  if (!h) throw new Error(`${i.id} is on no simulated host`);
  return h;
};
/** The instance's address on its host's bridge, from the agent's record. */
const ipOf = (i: InstanceView): string => {
  const meta = path.join(hostOf(i).dir, "agent", "runtime", "instances", i.id, "meta.json");
  return (JSON.parse(fs.readFileSync(meta, "utf8")) as { ip: string }).ip;
};
const who = (i: InstanceView) => `instance=${i.id}`;

/** One line from `host:port`, connecting from this machine (the LAN gateway); null on failure. */
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

describeRoot("tenant isolation: two teams on two simulated hosts", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    lan = await createSimLan(2, { ipMasq: true });
    srv = await startTestServer({ HOST: lan.gateway, BERTH_ROUTER_PORT: "0" }, { registry: true, router: true });
    // The first user is the instance admin: its join token makes shared nodes, where both teams' apps run.
    for (const [app, email] of [
      [A, "iso-a@example.com"],
      [B, "iso-b@example.com"],
    ] as const) {
      const c = new ApiClient(srv.url);
      expect((await c.signUp(email)).status).toBe(201);
      owners[app] = c;
    }
    const joinToken = (await owners[A]!.req("POST", "/api/v1/nodes/join-tokens", { name: "iso-hosts" })).body
      .token as string;
    for (const h of lan.hosts) h.startAgent(srv.url, joinToken);
    await until("both hosts ready", async () => {
      const nodes = (await owners[A]!.req<{ name: string; state: string }[]>("GET", "/api/v1/nodes")).body;
      return lan.hosts.every((h) => nodes.some((n) => n.name.endsWith(`-${h.name}`) && n.state === "ready"));
    });
    // Stand-ins on the LAN: "the internet" on .250 and a cloud metadata service on 169.254.169.254, which each host
    // routes onto the LAN as a cloud VM routes it to its hypervisor.
    peer = await createPeerNetns({ bridge: lan.bridge, addresses: [`${lan.prefix}.250/24`, `${METADATA}/32`] });
    peer.spawn(["/bin/busybox", "nc", "-ll", "-p", "80", "-e", "echo", "metadata"]);
    peer.spawn(["/bin/busybox", "nc", "-ll", "-p", "7000", "-e", "echo", "internet"]);
    for (const h of lan.hosts) {
      await run("/usr/sbin/ip", ["-n", h.netns, "route", "add", `${METADATA}/32`, "dev", "eth0"]);
      // A service on every address of the host, as sshd or a control plane would listen.
      const argv = ["netns", "exec", h.netns, "/bin/busybox", "nc", "-ll", "-p", String(nodeServicePort)];
      listeners.push(spawn("/usr/sbin/ip", [...argv, "-e", "echo", "node-service"], { stdio: "ignore" }));
    }
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && lan) {
      for (const app of [A, B]) await owners[app]?.req("DELETE", `/api/v1/apps/${app}`).catch(() => undefined);
      await until(
        "containers gone on every host",
        async () => {
          for (const h of lan.hosts) if ((await h.containers()).length > 0) return false;
          return true;
        },
        90_000,
      ).catch((e: unknown) => problems.push(String(e)));
    }
    for (const l of listeners) l.kill("SIGKILL");
    await peer?.destroy();
    await srv?.close();
    problems.push(...((await lan?.destroy()) ?? []));
    for (const r of repos) fs.rmSync(r, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("deploys both teams' apps over both hosts; the router serves both", async () => {
    for (const [app, n] of [
      [A, 3],
      [B, 2],
    ] as const) {
      const c = owners[app]!;
      expect((await c.req("POST", "/api/v1/apps", { name: app })).status).toBe(201);
      const token = (await c.tokenClient()).token as string;
      const repo = await makeRepo(busyboxWebApp());
      repos.push(repo);
      const push = await git(repo, ["push", remoteUrl(srv.url, app, token), "main"]);
      expect(push.code, push.out).toBe(0);
      const scale = await c.req("PATCH", `/api/v1/apps/${app}/formation`, { updates: [{ type: "web", quantity: n }] });
      expect(scale.status).toBe(200);
    }
    await until(
      "A: 3 running, B: one running on each host",
      async () => {
        const [a, b] = [await web(A), await web(B)];
        const hostsOf = (l: InstanceView[]) => new Set(l.map((i) => hostOf(i).name)).size;
        return (
          a.length === 3 &&
          b.length === 2 &&
          [...a, ...b].every((i) => i.state === "running" && i.hostPort !== null) &&
          hostsOf(a) === 2 &&
          hostsOf(b) === 2
        );
      },
      300_000,
    );
    for (const app of [A, B]) {
      const ids = new Set((await web(app)).map((i) => i.id));
      const r = await until(`${app} through the router`, async () => {
        const res = await viaRouter(`${app}.localhost`);
        return res.status === 200 && res;
      });
      expect(ids.has(/^instance=(\S+)/.exec(r.body)?.[1] ?? "")).toBe(true);
    }
  }, 600_000);

  it("from team A's instance: its own team answers; team B, the node, metadata do not; internet and router do", async () => {
    const [a, b] = [await web(A), await web(B)];
    // The host with two of A's instances: a1 attacks from there.
    const home = lan.hosts.find((h) => a.filter((i) => hostOf(i) === h).length === 2);
    expect(home).toBeDefined();
    const [a1, a2] = a.filter((i) => hostOf(i) === home);
    const other = lan.hosts.find((h) => h !== home)!;
    const bHere = b.find((i) => hostOf(i) === home)!;
    const bThere = b.find((i) => hostOf(i) === other)!;
    const url = (host: string, port: number, hostHeader?: string) => ({
      host,
      port,
      path: "/cgi-bin/who",
      ...(hostHeader ? { hostHeader } : {}),
    });
    const get = (target: ReturnType<typeof url>) => httpFrom(home!.runcRoot, a1!.id, target);
    const nc = (host: string, port: number) => fetchFrom(home!.runcRoot, a1!.id, host, port);

    expect(await get(url(ipOf(a2!), WEB))).toContain(who(a2!));
    // Team B on the same node: its address, and its published port on the node's address.
    expect(await get(url(ipOf(bHere), WEB))).toBeNull();
    expect(await get(url(home!.address, bHere.hostPort!))).toBeNull();
    // Team B on the other node, through its published port (only the router may connect there).
    expect(await get(url(other.address, bThere.hostPort!))).toBeNull();
    // The node's own services (they do listen: this machine reaches them over the LAN), and the metadata address.
    expect(await fetchHere(home!.address, nodeServicePort)).toBe("node-service");
    expect(await nc(home!.address, nodeServicePort)).toBeNull();
    expect(await fetchHere(lan.prefix + ".250", 80)).toBe("metadata");
    expect(await nc(METADATA, 80)).toBeNull();
    // Out through NAT, and team B's app the way everyone reaches it: through the router.
    expect(await nc(`${lan.prefix}.250`, 7000)).toBe("internet");
    expect(await get(url(lan.gateway, srv.cp.services.config.routerPort, `${B}.localhost`))).toMatch(
      /^instance=iso-b-/,
    );
    // And the other way round: team B's instance on that node cannot reach team A's.
    expect(await httpFrom(home!.runcRoot, bHere.id, url(ipOf(a1!), WEB))).toBeNull();
    expect(await httpFrom(home!.runcRoot, bHere.id, url(ipOf(bHere), WEB))).toContain(who(bHere));
  }, 120_000);
});
