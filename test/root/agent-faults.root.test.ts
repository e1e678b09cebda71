// Faults around the node agent with real everything (root tier: git push -> buildah -> registry -> scheduler -> a
// real agent process on runc/conmon/CNI -> HAProxy): a kill -9 of the agent under steady load through the router
// fails no request and its instances are re-adopted as they are (same ids, same processes, no restart); network
// leftovers of containers that no longer exist are collected when the agent starts; a stale port mapping of someone
// else on the port the agent would pick next does not stop the app serving; a mapping broken under a running
// instance makes it unhealthy and it is replaced on another port.
import type { ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { run } from "../../runtime-agent/runtime/exec.ts";

const IPTABLES = "/usr/sbin/iptables";
const IP = "/usr/sbin/ip";
/** Comment on every rule this file adds by hand, so cleanup finds them whatever happened. */
const TAG = `berth-faults-test-${process.pid}`;

const APP = "faulty";
const NODE = "faults-node";

let env: RootEnv;
let srv: TestServer;
let owner: ApiClient;
let token = "";
let repo = "";
let flags: string[] = [];
let agent: ChildProcess | undefined;
let inspector: OciBackend;
let portBase = 0;
const handRules: string[][] = [];
const handChains: string[] = [];

/** Adds a nat rule (argv after the table) and remembers how to delete it. */
async function natRule(chainAndRule: string[], insert = false): Promise<void> {
  const [chain, ...rule] = chainAndRule;
  await run(IPTABLES, ["-w", "-t", "nat", insert ? "-I" : "-A", chain as string, ...(insert ? ["1"] : []), ...rule]);
  handRules.push(chainAndRule);
}

async function natRules(): Promise<string> {
  return (await run(IPTABLES, ["-w", "-t", "nat", "-S"])).stdout;
}

/** A DNAT as portmap writes it for a container of `network` named `id`: host port `port` to a dead address. */
async function portmapLike(network: string, id: string, port: number, chain: string): Promise<void> {
  await run(IPTABLES, ["-w", "-t", "nat", "-N", chain]);
  handChains.push(chain);
  const dead = `${env.subnetPrefix}250:5000`;
  await natRule([
    chain,
    "-d",
    `${env.gateway}/32`,
    "-p",
    "tcp",
    "-m",
    "tcp",
    "--dport",
    String(port),
    "-j",
    "DNAT",
    "--to-destination",
    dead,
  ]);
  const comment = `dnat name: "${network}" id: "${id}"`;
  await natRule([
    "CNI-HOSTPORT-DNAT",
    "-p",
    "tcp",
    "-m",
    "comment",
    "--comment",
    comment,
    "-m",
    "multiport",
    "--dports",
    String(port),
    "-j",
    chain,
  ]);
}

async function removeHandRules(): Promise<void> {
  for (const r of handRules.splice(0).reverse()) {
    const [chain, ...rule] = r;
    await run(IPTABLES, ["-w", "-t", "nat", "-D", chain as string, ...rule]).catch(() => undefined);
  }
  for (const c of handChains.splice(0)) {
    await run(IPTABLES, ["-w", "-t", "nat", "-F", c]).catch(() => undefined);
    await run(IPTABLES, ["-w", "-t", "nat", "-X", c]).catch(() => undefined);
  }
}

const hostPorts = async () =>
  new Map(
    (
      await srv.cp.services.db.instance.findMany({
        where: { app: { name: APP }, processType: "web" },
        select: { id: true, hostPort: true },
      })
    ).map((i) => [i.id, i.hostPort]),
  );

/** Requests through the router until every one of `ids` answered; every answer must be a 200. */
async function allAnswer(ids: string[]): Promise<void> {
  const seen = new Set<string>();
  await until(
    `${ids.length} instances answering`,
    async () => {
      for (let i = 0; i < 12; i++) {
        const r = await get(`${APP}.localhost`);
        if (r.status !== 200) return false;
        seen.add(/instance=(\S+)/.exec(r.body)?.[1] ?? "");
      }
      return ids.every((id) => seen.has(id));
    },
    60_000,
  );
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** GET through the router with a Host header; never rejects (status 0 = connection failure). */
function get(host: string, urlPath = "/cgi-bin/who"): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: srv.cp.services.config.routerPort,
        path: urlPath,
        headers: { host },
        timeout: 10_000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

/** Steady load of `rate` requests per second until stopped; counts every request that did not get a 200. */
function steadyLoad(rate = 25) {
  const results: { status: number; body: string }[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const p = get(`${APP}.localhost`).then((r) => {
      results.push(r);
      inflight.delete(p);
    });
    inflight.add(p);
  }, 1000 / rate);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      return { total: results.length, failed: results.filter((r) => r.status !== 200) };
    },
  };
}

interface Ps {
  id: string;
  state: string;
  release: number;
  restarts: number;
  processType: string;
}
const instances = async () => (await owner.req<Ps[]>("GET", `/api/v1/apps/${APP}/instances`)).body;

async function runningWeb(n: number) {
  return until(`${n} running web instances`, async () => {
    const web = (await instances()).filter((i) => i.processType === "web");
    return web.length === n && web.every((i) => i.state === "running") && web;
  });
}

const nodeState = async () => (await srv.cp.services.db.node.findUnique({ where: { name: NODE } }))?.state;

describeRoot("agent faults (real agent, runc, CNI, HAProxy)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    env = await createRootEnv();
    srv = await startTestServer({ BERTH_ROUTER_PORT: "0" }, { registry: true, router: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("faults@example.com");
    token = (await owner.tokenClient()).token;
    const join = await localJoinToken(srv, NODE);
    portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: NODE, portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until("node ready", async () => (await nodeState()) === "ready");
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    repo = await makeRepo(busyboxWebApp());
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(
      (await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 2 }] })).status,
    ).toBe(200);
    await runningWeb(2);
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && agent) {
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
    }
    await removeHandRules().catch((e: unknown) => problems.push(String(e)));
    await stopAgent(agent);
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    await srv?.close();
    problems.push(...((await env?.destroy()) ?? []));
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("kill -9 of the agent under steady load: 0 failed requests, the instances re-adopted as they are", async () => {
    const before = await runningWeb(2);
    const pids = new Map<string, number | undefined>();
    for (const i of before) pids.set(i.id, (await inspector.state(i.id))?.pid);
    expect([...pids.values()].every((p) => typeof p === "number")).toBe(true);
    const load = steadyLoad(25);
    await new Promise((r) => setTimeout(r, 1000));
    await stopAgent(agent, "SIGKILL");
    // The control plane notices (its socket closed) and marks the node down; the routes must stay.
    await until("node down", async () => (await nodeState()) === "down", 30_000);
    await new Promise((r) => setTimeout(r, 2000));
    agent = spawnAgent(flags);
    await until("node ready again", async () => (await nodeState()) === "ready", 60_000);
    await new Promise((r) => setTimeout(r, 2000));
    const { total, failed } = await load.stop();
    expect(total).toBeGreaterThan(50);
    expect(failed).toEqual([]);
    const after = await runningWeb(2);
    expect(after.map((i) => i.id).sort()).toEqual(before.map((i) => i.id).sort());
    for (const i of after) {
      expect(i.restarts).toBe(before.find((b) => b.id === i.id)?.restarts);
      expect((await inspector.state(i.id))?.pid).toBe(pids.get(i.id));
    }
  }, 180_000);

  it("network leftovers of a container that no longer exists are collected when the agent starts", async () => {
    const network = env.backend.config.cni.networkName;
    const ghost = "faulty-web-0badc0de";
    await portmapLike(network, ghost, portBase + 90, `CNI-DN-${crypto.randomBytes(11).toString("hex").slice(0, 21)}`);
    const leaseDir = path.join(env.tmp, "agent", "cni", network);
    const lease = path.join(leaseDir, `${env.subnetPrefix}240`);
    fs.writeFileSync(lease, `${ghost}\r\neth0`);
    const netns = `${env.backend.config.namePrefix}${ghost}`;
    await run(IP, ["netns", "add", netns]);
    try {
      const before = await runningWeb(2);
      await stopAgent(agent);
      agent = spawnAgent(flags);
      await until("leftovers collected", async () => {
        const nat = await natRules();
        return (
          !nat.includes(`id: \\"${ghost}\\"`) &&
          !nat.includes(handChains[0] as string) &&
          !fs.existsSync(lease) &&
          !fs.existsSync(`/run/netns/${netns}`)
        );
      });
      // What exists is untouched: the instances still serve, with their own leases.
      await allAnswer(before.map((i) => i.id));
      expect(fs.readdirSync(leaseDir).filter((f) => f.startsWith(env.subnetPrefix))).toHaveLength(2);
    } finally {
      await run(IP, ["netns", "delete", netns]).catch(() => undefined);
      fs.rmSync(lease, { force: true });
      await removeHandRules();
    }
  }, 120_000);

  it("a stale mapping of another platform on the port the agent would pick next: the new instance still serves", async () => {
    const used = [...(await hostPorts()).values()];
    expect(used.sort()).toEqual([portBase, portBase + 1]);
    // Another platform's container died without a CNI DEL: its rule holds portBase + 2 (not ours to delete).
    await portmapLike(
      `berth-stale-${process.pid}`,
      "dead",
      portBase + 2,
      `CNI-DN-${crypto.randomBytes(11).toString("hex").slice(0, 21)}`,
    );
    try {
      expect(
        (await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 3 }] })).status,
      ).toBe(200);
      const web = await runningWeb(3);
      const ports = await hostPorts();
      expect([...ports.values()]).not.toContain(portBase + 2);
      await allAnswer(web.map((i) => i.id));
      expect(web.every((i) => i.restarts === 0)).toBe(true);
      expect(await natRules()).toContain(`berth-stale-${process.pid}`); // another network's rule is left alone
    } finally {
      await removeHandRules();
    }
  }, 180_000);

  it("a mapping broken under a running instance: it turns unhealthy and is replaced on another port", async () => {
    const web = await runningWeb(3);
    const ports = await hostPorts();
    const victim = web[0]!.id;
    const port = ports.get(victim) as number;
    // A rule ahead of portmap's sends the victim's host port to an address nobody has.
    await natRule(
      [
        "CNI-HOSTPORT-DNAT",
        "-p",
        "tcp",
        "-d",
        `${env.gateway}/32`,
        "--dport",
        String(port),
        "-m",
        "comment",
        "--comment",
        TAG,
        "-j",
        "DNAT",
        "--to-destination",
        `${env.subnetPrefix}251:5000`,
      ],
      true,
    );
    try {
      await until(
        "victim replaced on another port",
        async () => {
          const i = (await instances()).find((x) => x.id === victim);
          const p = (await hostPorts()).get(victim);
          return i?.state === "running" && i.restarts >= 1 && p !== port;
        },
        120_000,
      );
      const ev = await srv.cp.services.db.instance.findUnique({ where: { id: victim } });
      expect(ev?.hostPort).not.toBe(port);
      await allAnswer(web.map((i) => i.id));
    } finally {
      await removeHandRules();
    }
  }, 180_000);
});
