// Two agents as two simulated hosts (own network namespaces on a bridge this test creates; see helpers/sim-hosts.ts),
// with real everything else: git push -> buildah -> registry; each host pulls the image through the control plane's
// /v2/ endpoint with its join token; the scheduler spreads web=2 over both hosts; the router on this machine reaches
// both hosts' published ports across the LAN; when host A's agent dies, its instance is rescheduled on host B and
// traffic keeps flowing; when A comes back, its stale container is removed.
import fs from "node:fs";
import http from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { createSimLan, type SimLan } from "../helpers/sim-hosts.ts";
import { until } from "../helpers/until.ts";

const APP = "twohost";

interface InstanceView {
  id: string;
  state: string;
  processType: string;
  release: number;
  node: { id: string; name: string } | null;
}

let lan: SimLan;
let srv: TestServer;
let owner: ApiClient;
let token = "";
let joinToken = "";
let repo = "";

/** GET through the router on the LAN address; never rejects (status 0 = connection failure). */
function get(host: string): Promise<{ status: number; body: string }> {
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
        res.on("error", () => resolve({ status: 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

const instances = async () =>
  (await owner.req<InstanceView[]>("GET", `/api/v1/apps/${APP}/instances`)).body.filter((i) => i.processType === "web");

const nodeName = (letter: "a" | "b") => lan.hosts.find((h) => h.name === `host-${letter}`)?.name ?? "";
const onHost = (i: InstanceView, letter: "a" | "b") => i.node?.name.endsWith(`-${nodeName(letter)}`) ?? false;

/** The instance ids that answered `n` requests through the router; every request must get a 200. */
async function answering(n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let k = 0; k < n; k++) {
    const r = await get(`${APP}.localhost`);
    expect(r.status, r.body).toBe(200);
    seen.add(/^instance=(\S+)/.exec(r.body)?.[1] ?? "?");
  }
  return seen;
}

describeRoot("two simulated hosts: pulls through the control plane, cross-node routing, rescheduling", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    lan = await createSimLan(2);
    // The control plane and router listen on the LAN address, as on a machine the nodes reach over the network.
    srv = await startTestServer({ HOST: lan.gateway, BERTH_ROUTER_PORT: "0" }, { registry: true, router: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("twohost@example.com");
    token = (await owner.tokenClient()).token;
    joinToken = (await owner.req("POST", "/api/v1/nodes/join-tokens", { name: "sim-hosts" })).body.token as string;
    for (const h of lan.hosts) h.startAgent(srv.url, joinToken);
    await until("both hosts ready", async () => {
      const nodes = (await owner.req<{ name: string; state: string; address: string }[]>("GET", "/api/v1/nodes")).body;
      return lan.hosts.every((h) =>
        nodes.some((n) => n.name.endsWith(`-${h.name}`) && n.state === "ready" && n.address === h.address),
      );
    });
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    repo = await makeRepo(busyboxWebApp());
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && lan) {
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      // Hosts whose agent runs remove their containers; wait for that before taking the hosts down.
      await until(
        "containers gone on every host",
        async () => {
          for (const h of lan.hosts) if ((await h.containers()).length > 0) return false;
          return true;
        },
        60_000,
      ).catch((e: unknown) => problems.push(String(e)));
    }
    await srv?.close();
    problems.push(...((await lan?.destroy()) ?? []));
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("spreads web=2 over both hosts, each pulling through the control plane; the router reaches both", async () => {
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain("remote: -----> v1 is running");
    expect(
      (await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 2 }] })).status,
    ).toBe(200);
    const web = await until("web=2 running, one per host", async () => {
      const list = await instances();
      return (
        list.length === 2 &&
        list.every((i) => i.state === "running") &&
        list.some((i) => onHost(i, "a")) &&
        list.some((i) => onHost(i, "b")) &&
        list
      );
    });
    // Each host has its own image store: both pulled v1 (through /v2/ on the control plane, the only way they can).
    for (const h of lan.hosts) expect(await h.containers()).toHaveLength(1);
    const seen = await until("requests reach both hosts' instances", async () => {
      const s = await answering(12);
      return s.size === 2 && s;
    });
    expect([...seen].sort()).toEqual(web.map((i) => i.id).sort());
  }, 400_000);

  it("reschedules host A's instance on host B when A is lost; traffic keeps flowing; A cleans up when it returns", async () => {
    const scheduler = srv.cp.services.scheduler;
    expect(scheduler).toBeDefined();
    if (scheduler) scheduler.opts.nodeLostGraceMs = 2_000;
    const hostA = lan.hosts[0];
    if (!hostA) throw new Error("no host A");
    const before = await instances();
    const lost = before.find((i) => onHost(i, "a"));
    expect(lost).toBeDefined();
    await hostA.killAgent();
    // A's container still runs (the agent died, not the host): it stays routed until A is lost (2 s here), then goes.
    expect(await hostA.containers()).toEqual([lost?.id]);
    const moved = await until(
      "web=2 running on host B",
      async () => {
        const list = await instances();
        return list.length === 2 && list.every((i) => i.state === "running" && onHost(i, "b")) && list;
      },
      120_000,
    );
    expect(moved.map((i) => i.id)).not.toContain(lost?.id);
    const seen = await answering(12);
    expect([...seen].sort(), `lost ${lost?.id}`).toEqual(moved.map((i) => i.id).sort());
    // The decision is in the app's log stream (source berth), naming the lost node.
    const logs = await owner.req("GET", `/api/v1/apps/${APP}/logs?source=berth&lines=200`);
    expect(JSON.stringify(logs.body)).toContain(`${lost?.id} lost with node`);

    hostA.startAgent(srv.url, joinToken);
    await until("host A's stale container removed", async () => (await hostA.containers()).length === 0, 120_000);
    // The written-off instance is forgotten once its node confirms it is gone; nothing else changes.
    const ids = (list: InstanceView[]) => list.map((i) => i.id).sort();
    await until(
      "only the two instances on B listed",
      async () => {
        const after = await instances();
        return JSON.stringify(ids(after)) === JSON.stringify(ids(moved)) && after;
      },
      30_000,
    );
    expect((await answering(6)).size).toBe(2);
  }, 400_000);
});
