// The whole platform on this machine for one root-tier test file: a control plane with registry and HAProxy router, a
// real agent process (runc, conmon, CNI) in its own RootEnv and a signed-up owner (bootRootPlatform), plus, with
// bootRootStack, one app pushed with git and built by buildah. close() removes the app, the containers, volumes left
// behind and everything the environment made.
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { startTestServer, type TestServer } from "./server.ts";
import { ApiClient } from "./client.ts";
import { git, makeRepo, remoteUrl } from "./git.ts";
import { localJoinToken } from "./local-token.ts";
import { until } from "./until.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";

/** One instance as `GET /apps/{app}/instances` shows it. */
export interface PsRow {
  id: string;
  processType: string;
  state: string;
  release: number;
  restarts: number;
  exitCode: number | null;
  reason: string | null;
}

/** GET through the router with `app`'s host; never rejects (status 0 = connection failure). */
function getThroughRouter(
  srv: TestServer,
  app: string,
  urlPath: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: srv.cp.services.config.routerPort,
        path: urlPath,
        headers: { host: `${app}.localhost` },
        timeout: timeoutMs,
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

export interface RootPlatform {
  env: RootEnv;
  srv: TestServer;
  owner: ApiClient;
  /** An API token of the owner. */
  token: string;
  inspector: OciBackend;
  agent(): ChildProcess | undefined;
  /** Kills the agent with `signal` (its containers keep running), starts it again and waits until the node is ready. */
  restartAgent(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Stops the control plane (API, registry, router; the agent and its containers keep running) and starts it again on
   * the same data dir and ports; resolves once the agent has reconnected by itself. `srv` is the new one afterwards.
   */
  restartControlPlane(): Promise<TestServer>;
  /** GET through the router with `app`'s host; never rejects (status 0 = connection failure). */
  getApp(app: string, urlPath: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  /** Stops the agent, removes the containers and volumes it left, closes the server and the environment. */
  close(): Promise<string[]>;
}

/** Boots the platform with node `node` and signs up `email` as the owner (no app yet). */
export async function bootRootPlatform(o: { email: string; node: string }): Promise<RootPlatform> {
  const env = await createRootEnv();
  let srv = await startTestServer({ BERTH_ROUTER_PORT: "0" }, { registry: true, router: true });
  const owner = new ApiClient(srv.url);
  await owner.signUp(o.email);
  const token = (await owner.tokenClient()).token;
  const join = await localJoinToken(srv, o.node);
  const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
  const flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: join, nodeName: o.node, portBase });
  const inspector = await OciBackend.open(
    backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })),
    silentLogger(),
  );
  let agent: ChildProcess | undefined = spawnAgent(flags);
  const nodeReady = (what: string) =>
    until(what, async () => (await srv.cp.services.db.node.findUnique({ where: { name: o.node } }))?.state === "ready");
  await nodeReady("node ready");
  return {
    env,
    get srv() {
      return srv;
    },
    owner,
    token,
    inspector,
    agent: () => agent,
    restartAgent: async (signal = "SIGKILL") => {
      await stopAgent(agent, signal);
      agent = spawnAgent(flags);
      await nodeReady("node ready again");
    },
    restartControlPlane: async () => {
      // The same ports: the agent was given this URL, the router's and registry's addresses are in specs it holds.
      const ports = {
        PORT: String(srv.port),
        BERTH_ROUTER_PORT: String(srv.cp.services.config.routerPort),
        BERTH_REGISTRY_PORT: srv.cp.registry().host.split(":").at(-1)!,
      };
      // cp.close, not srv.close: the data dir stays (srv.close would remove it).
      await srv.cp.close();
      const down = Date.now();
      srv = await startTestServer(ports, { registry: true, router: true, dataDir: srv.dataDir });
      await until("the agent reconnected by itself", async () => {
        const n = await srv.cp.services.db.node.findUnique({ where: { name: o.node } });
        return n?.state === "ready" && (n.lastSeenAt?.getTime() ?? 0) >= down;
      });
      return srv;
    },
    getApp: (app, urlPath, timeoutMs = 10_000) => getThroughRouter(srv, app, urlPath, timeoutMs),
    close: async () => {
      const problems: string[] = [];
      await stopAgent(agent);
      agent = undefined;
      for (const c of await inspector.list())
        await inspector.delete(c.id).catch((e: unknown) => problems.push(String(e)));
      // A test that failed half-way may leave a volume behind: its loop mount must go before the state dir does.
      for (const id of await inspector.volumeStore.ids())
        await inspector.volumeStore.destroy(id).catch((e: unknown) => problems.push(String(e)));
      await srv.close();
      problems.push(...(await env.destroy()));
      return problems;
    },
  };
}

export interface RootStack extends Omit<RootPlatform, "getApp" | "close"> {
  repo: string;
  /** Pushes the repo's HEAD; returns git's exit code and output. */
  push(): Promise<{ code: number; out: string }>;
  /** GET through the router with the app's host; never rejects (status 0 = connection failure). */
  get(urlPath?: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  ps(): Promise<PsRow[]>;
  /** Waits until exactly `n` instances of `type` run (of release `release` when given). */
  running(type: string, n: number, release?: number): Promise<PsRow[]>;
  close(): Promise<string[]>;
}

/** Boots the platform and creates `app` with a git repository of `files` (push() deploys it). */
export async function bootRootStack(
  app: string,
  files: Record<string, string | Buffer>,
  o: { email: string; node: string },
): Promise<RootStack> {
  const platform = await bootRootPlatform(o);
  const { owner, token, inspector } = platform;
  const created = await owner.req("POST", "/api/v1/apps", { name: app });
  if (created.status !== 201) throw new Error(`creating ${app}: ${created.status}`);
  const repo = await makeRepo(files);
  const ps = async () => (await owner.req<PsRow[]>("GET", `/api/v1/apps/${app}/instances`)).body;
  return {
    env: platform.env,
    get srv() {
      return platform.srv;
    },
    owner,
    token,
    inspector,
    agent: platform.agent,
    restartAgent: platform.restartAgent,
    restartControlPlane: platform.restartControlPlane,
    repo,
    push: () => git(repo, ["push", remoteUrl(platform.srv.url, app, token), "main"]),
    get: (urlPath = "/cgi-bin/who", timeoutMs = 10_000) => platform.getApp(app, urlPath, timeoutMs),
    ps,
    running: (type, n, release) =>
      until(`${n} running ${type} instances${release ? ` of v${release}` : ""}`, async () => {
        const list = (await ps()).filter((i) => i.processType === type);
        return (
          list.length === n &&
          list.every((i) => i.state === "running" && (release === undefined || i.release === release)) &&
          list
        );
      }),
    close: async () => {
      const problems: string[] = [];
      await owner.req("DELETE", `/api/v1/apps/${app}`).catch(() => undefined);
      await until("containers gone", async () => (await inspector.list()).length === 0, 60_000).catch((e: unknown) =>
        problems.push(String(e)),
      );
      problems.push(...(await platform.close()));
      fs.rmSync(repo, { recursive: true, force: true });
      return problems;
    },
  };
}
