// The golden path with real everything on one machine (root tier): git push -> buildah -> registry -> scheduler ->
// a real agent process (runc, conmon, CNI) -> HAProxy router. Scale web=3 and see requests spread; change config
// under steady load with zero failed requests; a failing release aborts with zero failed requests and the old one
// still serving; a crash restarts; an unknown host is a 404; a custom domain routes; destroy cleans up.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
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
import { runBerth } from "../helpers/cli.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { TestDns } from "../helpers/dns.ts";

const APP = "golden";

let env: RootEnv;
let srv: TestServer;
let dns: TestDns;
let owner: ApiClient;
let token = "";
let repo = "";
let agent: ChildProcess | undefined;
let inspector: OciBackend;

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
function steadyLoad(rate = 20) {
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
    results,
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      return { total: results.length, failed: results.filter((r) => r.status !== 200) };
    },
  };
}

const instances = async () =>
  (
    await owner.req<{ id: string; state: string; release: number; restarts: number; processType: string }[]>(
      "GET",
      `/api/v1/apps/${APP}/instances`,
    )
  ).body;

async function runningWeb(n: number, release: number) {
  return until(`${n} running web instances of v${release}`, async () => {
    const list = await instances();
    const web = list.filter((i) => i.processType === "web");
    return web.length === n && web.every((i) => i.state === "running" && i.release === release) && web;
  });
}

describeRoot("deploy and route (git, buildah, registry, scheduler, agent, runc, haproxy)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    env = await createRootEnv();
    dns = await TestDns.start();
    srv = await startTestServer(
      { BERTH_ROUTER_PORT: "0", BERTH_DNS_RESOLVER: dns.address },
      { registry: true, router: true },
    );
    owner = new ApiClient(srv.url);
    await owner.signUp("golden@example.com");
    token = (await owner.tokenClient()).token;
    // The agent runs on this machine and publishes on 127.0.0.1, like the local agent of `npm start`: a local-agent
    // token, the only kind the control plane routes on loopback.
    const join = await localJoinToken(srv, "golden-node");
    // No registry credentials: the agent pulls through the control plane's /v2/ with its join token.
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: "golden-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    agent = spawnAgent(flags);
    await until(
      "node ready",
      async () => (await srv.cp.services.db.node.findUnique({ where: { name: "golden-node" } }))?.state === "ready",
    );
    expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    repo = await makeRepo(busyboxWebApp({ "www/index.html": "<h1>golden</h1>\n" }));
  }, 300_000);

  afterAll(async () => {
    const problems: string[] = [];
    if (srv && agent) {
      await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
    }
    await stopAgent(agent);
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
    await srv?.close();
    await dns?.stop();
    problems.push(...((await env?.destroy()) ?? []));
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("git push builds, rolls out and prints the URL; the router serves it and 404s unknown hosts", async () => {
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, token), "main"]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain("remote: -----> Rolling out v1");
    expect(push.out).toMatch(/remote:\s+web golden-web-[0-9a-f]{8}: running/);
    expect(push.out).toContain("remote: -----> v1 is running");
    expect(push.out).toContain(`http://${APP}.localhost:${srv.cp.services.config.routerPort}/`);
    const r = await get(`${APP}.localhost`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^instance=golden-web-[0-9a-f]{8} greeting=none/);
    expect((await get(`${APP}.localhost`, "/")).body).toContain("<h1>golden</h1>");
    const unknown = await get("nobody.localhost");
    expect(unknown.status).toBe(404);
    expect(unknown.body).not.toContain("golden");
    const releases = await owner.req<{ version: number; status: string }[]>("GET", `/api/v1/apps/${APP}/releases`);
    expect(releases.body[0]).toMatchObject({ version: 1, status: "deployed" });
  }, 300_000);

  it("scale web=3: requests spread over three instances", async () => {
    expect(
      (await owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 3 }] })).status,
    ).toBe(200);
    const web = await runningWeb(3, 1);
    const seen = new Set<string>();
    await until(
      "all three answered",
      async () => {
        for (let i = 0; i < 12; i++) {
          const r = await get(`${APP}.localhost`);
          expect(r.status).toBe(200);
          seen.add(/instance=(\S+)/.exec(r.body)?.[1] ?? "");
        }
        return seen.size === 3;
      },
      30_000,
    );
    expect([...seen].sort()).toEqual(web.map((i) => i.id).sort());
  }, 180_000);

  it("a config change rolls out under steady load with zero failed requests", async () => {
    const load = steadyLoad(20);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await owner.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: "hello" } })).status).toBe(200);
    await until("v2 deployed", async () => {
      const rel = await owner.req<{ version: number; status: string }[]>("GET", `/api/v1/apps/${APP}/releases`);
      return rel.body.find((x) => x.version === 2)?.status === "deployed";
    });
    await runningWeb(3, 2);
    await new Promise((r) => setTimeout(r, 1000));
    const { total, failed } = await load.stop();
    expect(total).toBeGreaterThan(40);
    expect(failed).toEqual([]);
    expect((await get(`${APP}.localhost`)).body).toContain("greeting=hello");
  }, 240_000);

  it("a release that cannot start aborts; the old one keeps serving with zero failed requests", async () => {
    const load = steadyLoad(20);
    fs.writeFileSync(path.join(repo, "Procfile"), "web: echo crashing on purpose; exit 3\n");
    await git(repo, ["add", "-A"]);
    await git(repo, ["commit", "-qm", "break the web process"]);
    const push = await git(repo, ["push", remoteUrl(srv.url, APP, token), "main"]);
    const { total, failed } = await load.stop();
    expect(push.code).not.toBe(0);
    expect(push.out).toMatch(/remote: error: v3 did not start: web instance \S+ keeps crashing \(exit code 3/);
    expect(push.out).toContain("the push was rejected; the running release is unchanged");
    expect(total).toBeGreaterThan(20);
    expect(failed).toEqual([]);
    const rel = await owner.req<{ version: number; status: string; failReason: string | null }[]>(
      "GET",
      `/api/v1/apps/${APP}/releases`,
    );
    expect(rel.body.find((x) => x.version === 3)).toMatchObject({ status: "failed" });
    expect(rel.body.find((x) => x.version === 2)).toMatchObject({ status: "deployed" });
    await runningWeb(3, 2);
    expect((await get(`${APP}.localhost`)).body).toContain("greeting=hello");
    // Put the working tree back to the release that runs.
    await git(repo, ["reset", "-q", "--hard", "HEAD~1"]);
  }, 300_000);

  it("a crashed instance is restarted by its agent and ps shows it", async () => {
    const [victim] = await runningWeb(3, 2);
    await inspector.kill(victim?.id as string, "SIGKILL");
    await until("restarted", async () => {
      const i = (await instances()).find((x) => x.id === victim?.id);
      return i && i.restarts >= 1 && i.state === "running";
    });
    const ps = await owner.req<{ id: string; exitCode: number | null }[]>("GET", `/api/v1/apps/${APP}/instances`);
    expect(ps.body.find((x) => x.id === victim?.id)?.exitCode).toBe(137);
  }, 120_000);

  it("berth run: a one-off of the deployed release with its config; output and exit code come back; then it is gone", async () => {
    const home = fs.mkdtempSync(path.join(env.tmp, "home-"));
    const r = await runBerth(
      ["run", "-a", APP, "--", "echo", "hello", "$GREETING;", "echo", "oops", ">&2;", "exit", "7"],
      {
        url: srv.url,
        token,
        home,
      },
    );
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe("hello hello\n");
    expect(r.stderr).toMatch(/Running on golden-run-[0-9a-f]{8} \(v2\)/);
    expect(r.stderr).toContain("oops");
    await until("one-off removed", async () => (await instances()).every((i) => i.processType !== "run"), 30_000);
    await until("its container removed", async () => (await inspector.list()).length === 3, 30_000);
  }, 120_000);

  it("berth run --json: the API's events as JSON lines, exit code still passed back", async () => {
    const home = fs.mkdtempSync(path.join(env.tmp, "home-"));
    const r = await runBerth(["run", "-a", APP, "--json", "--", "echo", "hi;", "exit", "3"], {
      url: srv.url,
      token,
      home,
    });
    expect(r.code, r.stderr).toBe(3);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]).toMatchObject({ type: "started", release: 2 });
    expect(events).toContainEqual({ type: "output", stream: "stdout", text: "hi" });
    expect(events.at(-1)).toMatchObject({ type: "exit", code: 3 });
    await until("one-off removed", async () => (await instances()).every((i) => i.processType !== "run"), 30_000);
    await until("its container removed", async () => (await inspector.list()).length === 3, 30_000);
  }, 120_000);

  it("a custom domain routes to the app once its owner proved control of it", async () => {
    const added = await owner.req("POST", `/api/v1/apps/${APP}/domains`, { hostname: "golden.example.com" });
    expect(added.status).toBe(201);
    // Pending: not routed (the app itself is).
    await until("app routed", async () => (await get(`${APP}.localhost`)).status === 200);
    expect((await get("golden.example.com")).status).toBe(404);
    await dns.setTxt({ [added.body.verification.name]: [added.body.verification.value] });
    expect((await owner.req("POST", `/api/v1/apps/${APP}/domains/golden.example.com/verify`)).status).toBe(200);
    const r = await until(
      "domain routed",
      async () => {
        const x = await get("golden.example.com");
        return x.status === 200 && x;
      },
      30_000,
    );
    expect(r.body).toContain("greeting=hello");
  }, 60_000);

  it("a Node.js stack app (its files and process owned by the stack's app user, uid 1000) serves in a user namespace", async () => {
    const NODE_APP = "golden-node";
    expect((await owner.req("POST", "/api/v1/apps", { name: NODE_APP })).status).toBe(201);
    const nodeRepo = await makeRepo({
      "package.json": JSON.stringify({ name: NODE_APP, version: "1.0.0", scripts: { start: "node server.js" } }),
      "server.js":
        'require("http").createServer((q, r) => r.end("node " + process.version + " uid " + process.getuid() + ' +
        '" owner " + require("fs").statSync(__filename).uid)).listen(process.env.PORT);\n',
    });
    try {
      const push = await git(nodeRepo, ["push", remoteUrl(srv.url, NODE_APP, token), "main"]);
      expect(push.code, push.out).toBe(0);
      expect(push.out).toContain("remote: -----> Detected Node.js app (package.json)");
      const r = await until(
        "node app routed",
        async () => {
          const x = await get(`${NODE_APP}.localhost`, "/");
          return x.status === 200 && x;
        },
        60_000,
      );
      // Inside: the stack's app user and its files; on the host: that user shifted into the team's id block.
      expect(r.body).toMatch(/^node v18\.\d+\.\d+ uid 1000 owner 1000$/);
      const [web] = (
        await owner.req<{ id: string; processType: string }[]>("GET", `/api/v1/apps/${NODE_APP}/instances`)
      ).body.filter((i) => i.processType === "web");
      const pid = (await inspector.state(web!.id))?.pid as number;
      const status = await fs.promises.readFile(`/proc/${pid}/status`, "utf8");
      const hostUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const range = (await inspector.store.readMeta(web!.id))?.idRange;
      expect(range?.hostId).toBeGreaterThanOrEqual(65_536);
      expect(hostUid).toBe((range?.hostId ?? 0) + 1000);
    } finally {
      await owner.req("DELETE", `/api/v1/apps/${NODE_APP}`);
      fs.rmSync(nodeRepo, { recursive: true, force: true });
    }
    await until("node app's containers gone", async () => (await inspector.list()).length === 3, 60_000);
  }, 300_000);

  it("destroying the app removes its instances, routes, images and logs", async () => {
    const releases = (await owner.req<{ image: string }[]>("GET", `/api/v1/apps/${APP}/releases`)).body;
    const digests = [...new Set(releases.map((r) => r.image.split("@")[1]))];
    const logDir = path.join(srv.dataDir, "logs", APP);
    expect(fs.existsSync(logDir)).toBe(true);
    expect((await owner.req("DELETE", `/api/v1/apps/${APP}`)).status).toBe(204);
    await until("containers gone", async () => (await inspector.list()).length === 0, 60_000);
    await until("routes gone", async () => (await get(`${APP}.localhost`)).status === 404, 30_000);
    expect((await get("golden.example.com")).status).toBe(404);
    const reg = srv.cp.registry();
    const auth = `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`;
    const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    for (const d of digests) {
      const r = await fetch(`http://${reg.host}/v2/${APP}/manifests/${d}`, {
        headers: { accept, authorization: auth },
      });
      expect(r.status, d).toBe(404);
    }
    expect(fs.existsSync(logDir)).toBe(false);
  }, 120_000);
});
