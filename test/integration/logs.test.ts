// App logs end to end: agent `instance.logs` -> ingest (team check) -> store -> GET /apps/{app}/logs, the live
// stream, and `berth logs` (history and --tail). Agents are a raw WebSocket speaking the protocol, and an in-process
// agent whose FakeBackend hands out k8s-file logs written by the test (the real conmon path is the root tier).
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { appendAppLog } from "../../server/logs/ingest.ts";
import { forwardPlatformLines } from "../../server/logs/platform-lines.ts";
import type { AccessLine } from "../../server/router/haproxy-access.ts";
import {
  encodeNotification,
  encodeRequest,
  PROTOCOL_VERSION,
  type LogBatch,
  type RegisterParams,
} from "../../runtime-agent/protocol/index.ts";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { LogShipper } from "../../runtime-agent/agent/log-shipper.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import type { ContainerConfigInput, ContainerInfo } from "../../runtime-agent/runtime/backend.ts";

let srv: TestServer;
let alice: ApiClient;
let bob: ApiClient;
let aliceToken = "";
let home: string;
const sockets: WebSocket[] = [];
const agents: Agent[] = [];
const dirs: string[] = [];
const BIN = path.resolve(import.meta.dirname, "../../bin/berth.mjs");

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const register = (name: string): RegisterParams => ({
  protocolVersion: PROTOCOL_VERSION,
  hostname: name,
  address: "127.0.0.1",
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  diskBytes: 50 * 1024 ** 3,
  kernel: "6.1.0-test",
  cgroupVersion: 1,
  userNamespaces: true,
  agentVersion: "0.1.0",
});

/** A node of `team` speaking the protocol by hand: registers, then sends whatever the test wants. */
async function fakeNode(client: ApiClient, team: string, name: string): Promise<WebSocket> {
  const t = await client.req("POST", "/api/v1/nodes/join-tokens", { name, team });
  expect(t.status).toBe(201);
  const ws = new WebSocket(`${srv.url.replace(/^http/, "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${t.body.token}` },
  });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.once("open", () => {
      ws.send(encodeRequest("r1", "node.register", register(name)));
      ws.on("message", (raw) => {
        const f = JSON.parse(raw.toString());
        if (f.id === "r1" && f.result) resolve();
        if (f.id === "r1" && f.error) reject(new Error(f.error.message));
      });
    });
  });
  return ws;
}

const batch = (app: string, texts: string[], extra: Partial<LogBatch> = {}): LogBatch => ({
  instanceId: `${app}-web-0a0b0c0d`,
  app,
  release: "v1",
  processType: "web",
  offset: 100,
  lines: texts.map((text, i) => ({
    at: "2026-11-27T12:00:00.123456789+01:00",
    stream: i % 2 ? "stderr" : "stdout",
    partial: false,
    text,
  })),
  ...extra,
});

const logsOf = async (client: ApiClient, app: string, q = "") => client.req("GET", `/api/v1/apps/${app}/logs${q}`);
const texts = (r: { body: { entries: { text: string }[] } }) => r.body.entries.map((e) => e.text);

beforeAll(async () => {
  srv = await startTestServer({ BERTH_SCHEDULER: "off" });
  // The lead wires this into the control plane; calling it again is a no-op.
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-logs-"));
  alice = new ApiClient(srv.url);
  bob = new ApiClient(srv.url);
  expect((await alice.signUp("logs-alice@example.com")).status).toBe(201);
  expect((await bob.signUp("logs-bob@example.com")).status).toBe(201);
  aliceToken = (await alice.tokenClient()).token ?? "";
  expect((await alice.req("POST", "/api/v1/teams", { name: "red-logs" })).status).toBe(201);
  expect((await bob.req("POST", "/api/v1/teams", { name: "blue-logs" })).status).toBe(201);
  expect((await alice.req("POST", "/api/v1/apps", { name: "red-app", team: "red-logs" })).status).toBe(201);
  expect((await alice.req("POST", "/api/v1/apps", { name: "red-agent", team: "red-logs" })).status).toBe(201);
  expect((await bob.req("POST", "/api/v1/apps", { name: "blue-app", team: "blue-logs" })).status).toBe(201);
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  for (const a of agents) await a.stop();
  await srv.close();
  for (const d of [home, ...dirs]) fs.rmSync(d, { recursive: true, force: true });
});

describe("agent logs -> store -> API", () => {
  it("stores a node's batch and serves it newest-last with filters and paging", async () => {
    const red = await fakeNode(alice, "red-logs", "red-node-1");
    red.send(encodeNotification("instance.logs", batch("red-app", ["first", "second", "third"])));
    red.send(
      encodeNotification(
        "instance.logs",
        batch("red-app", ["worker says hi"], { processType: "worker", instanceId: "red-app-worker-11223344" }),
      ),
    );
    const r = await until("logs stored", async () => {
      const res = await logsOf(alice, "red-app");
      return res.body.entries?.length === 4 ? res : undefined;
    });
    expect(r.status).toBe(200);
    expect(texts(r)).toEqual(["first", "second", "third", "worker says hi"]);
    expect(r.body.entries[0]).toEqual({
      seq: 1,
      at: "2026-11-27T11:00:00.123Z",
      stream: "stdout",
      source: "app",
      processType: "web",
      instance: "red-app-web-0a0b0c0d",
      release: "v1",
      text: "first",
    });
    expect(r.body.entries[1].stream).toBe("stderr");
    expect(r.body.lastSeq).toBe(4);
    expect(texts(await logsOf(alice, "red-app", "?lines=2"))).toEqual(["third", "worker says hi"]);
    expect(texts(await logsOf(alice, "red-app", "?processType=worker"))).toEqual(["worker says hi"]);
    expect(texts(await logsOf(alice, "red-app", "?instance=red-app-web-0a0b0c0d&lines=1"))).toEqual(["third"]);
    expect(texts(await logsOf(alice, "red-app", "?after=2"))).toEqual(["third", "worker says hi"]);
    expect(texts(await logsOf(alice, "red-app", "?source=router"))).toEqual([]);
    expect((await logsOf(alice, "red-app", "?lines=0")).status).toBe(422);
    expect((await logsOf(alice, "red-app", "?processType=../x")).status).toBe(422);
    expect((await logsOf(alice, "red-app", "?bogus=1")).status).toBe(422);
  });

  it("drops batches a team node sends for another team's app (and for unknown apps)", async () => {
    const red = await fakeNode(alice, "red-logs", "red-node-2");
    red.send(encodeNotification("instance.logs", batch("blue-app", ["injected by red"])));
    red.send(encodeNotification("instance.logs", batch("no-such-app", ["nobody"])));
    red.send(encodeNotification("instance.logs", batch("red-app", ["marker after injection"])));
    await until("marker stored", async () => texts(await logsOf(alice, "red-app")).includes("marker after injection"));
    const blue = await logsOf(bob, "blue-app");
    expect(blue.status).toBe(200);
    expect(blue.body.entries).toEqual([]);
    expect(fs.existsSync(path.join(srv.dataDir, "logs", "no-such-app"))).toBe(false);
  });

  it("answers 404 to another team's user and 401 to anonymous callers", async () => {
    const r = await logsOf(bob, "red-app");
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).not.toContain("first");
    expect((await logsOf(new ApiClient(srv.url), "red-app")).status).toBe(401);
  });

  it("publishes new entries on the app's logs channel, only to authorized subscribers", async () => {
    const ws = new WebSocket(`${srv.url.replace(/^http/, "ws")}/api/v1/stream`, {
      headers: { authorization: `Bearer ${aliceToken}` },
    });
    sockets.push(ws);
    const frames: any[] = [];
    ws.on("message", (raw) => frames.push(JSON.parse(raw.toString())));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "subscribe", app: "red-app", channel: "logs" }));
    await until("subscribed", () => frames.some((f) => f.type === "subscribed"));
    await appendAppLog(srv.cp.services, "red-app", [{ source: "router", text: "GET / 200 3ms" }]);
    const msg = await until("live entry", () => frames.find((f) => f.type === "message" && f.channel === "logs"));
    expect(msg.data.entries).toEqual([
      expect.objectContaining({ source: "router", text: "GET / 200 3ms", seq: expect.any(Number) }),
    ]);
    ws.send(JSON.stringify({ type: "subscribe", app: "blue-app", channel: "logs" }));
    const err = await until("refusal", () => frames.find((f) => f.type === "error"));
    expect(err.code).toBe("not_found");
  });
});

describe("berth logs", () => {
  const berth = (args: string[]) => runBerth(args, { url: srv.url, token: aliceToken, home });

  it("prints recent lines with time, process and instance, and filters", async () => {
    await appendAppLog(srv.cp.services, "red-app", [
      { source: "berth", text: "evil \u001b]0;pwned\u0007\u001b[2Jtitle" },
    ]);
    const r = await berth(["logs", "-a", "red-app", "-n", "50"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("2026-11-27T11:00:00.123Z web[0a0b0c0d]: first\n");
    expect(r.stdout).toContain("worker[11223344]: worker says hi");
    expect(r.stdout).toMatch(/Z router: GET \/ 200 3ms\n/);
    expect(r.stdout).toMatch(/Z berth: evil title\n$/);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const ps = await berth(["logs", "-a", "red-app", "--ps", "worker"]);
    expect(ps.stdout.trim().split("\n")).toHaveLength(1);
    expect((await berth(["logs", "-a", "red-app", "--type", "worker"])).stdout).toBe(ps.stdout);
    expect((await berth(["logs", "-a", "red-app", "--type", "worker", "--ps", "web"])).code).toBe(2);
    const src = await berth(["logs", "-a", "red-app", "--source", "router", "--json"]);
    const lines = src.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ source: "router", text: "GET / 200 3ms" })]);
    expect((await berth(["logs", "-a", "red-app", "--source", "nope"])).code).toBe(2);
    expect((await berth(["logs", "-a", "red-app", "-n", "0"])).code).toBe(2);
    const denied = await runBerth(["logs", "-a", "blue-app"], { url: srv.url, token: aliceToken, home });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("not found");
  });

  it("--follow prints the history, then new lines exactly once", async () => {
    const child = spawn(process.execPath, [BIN, "logs", "-a", "red-app", "-n", "2", "-f"], {
      env: {
        ...process.env,
        BERTH_URL: srv.url,
        BERTH_TOKEN: aliceToken,
        XDG_CONFIG_HOME: path.join(home, "config"),
        HOME: home,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await until("history", () => out.includes("berth: evil title"));
      expect(out.trim().split("\n")).toHaveLength(2);
      await appendAppLog(srv.cp.services, "red-app", [{ source: "berth", text: "live one" }]);
      await appendAppLog(srv.cp.services, "red-app", [
        { source: "app", processType: "web", instance: "red-app-web-0a0b0c0d", text: "live two" },
      ]);
      await until("live lines", () => out.includes("live two"));
      const lines = out.trim().split("\n");
      expect(lines).toHaveLength(4);
      expect(lines[2]).toMatch(/berth: live one$/);
      expect(lines[3]).toMatch(/web\[0a0b0c0d\]: live two$/);
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.once("exit", r));
    }
  });
});

/** A FakeBackend whose containers have k8s-file logs the test writes to. */
class LoggingBackend extends FakeBackend {
  constructor(readonly logDir: string) {
    super();
  }
  logPath(id: string): string {
    return path.join(this.logDir, `${id}.log`);
  }
  override async create(c: ContainerConfigInput): Promise<ContainerInfo> {
    const info = await super.create(c);
    fs.writeFileSync(this.logPath(info.id), "");
    return { ...info, logPath: this.logPath(info.id) };
  }
  override async state(id: string): Promise<ContainerInfo | null> {
    const info = await super.state(id);
    return info ? { ...info, logPath: this.logPath(id) } : null;
  }
  override async list(): Promise<ContainerInfo[]> {
    return (await super.list()).map((c) => ({ ...c, logPath: this.logPath(c.id) }));
  }
}

describe("in-process agent ships its containers' logs", () => {
  it("tails the file, and after an agent restart sends what was written meanwhile, once", async () => {
    const t = await alice.req("POST", "/api/v1/nodes/join-tokens", { name: "red-agent-node", team: "red-logs" });
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-agent-logs-"));
    dirs.push(stateDir);
    const backend = new LoggingBackend(stateDir);
    const start = async () => {
      const a = await startAgent({
        controlPlane: srv.url,
        joinToken: t.body.token,
        stateDir,
        backend,
        log: silentLogger(),
        tickMs: 100,
        register: async () => register("red-agent-node"),
      });
      agents.push(a);
      return a;
    };
    const agent = await start();
    const hub = srv.cp.services.agents;
    const node = await until(
      "node registered",
      async () =>
        (await srv.cp.services.db.node.findFirst({ where: { name: "red-agent-node", state: "ready" } })) ?? undefined,
    );
    await hub.setDesiredState(node.id, [
      {
        id: "red-agent-web-1",
        team: "team-red",
        app: "red-agent",
        release: "v1",
        processType: "web",
        image: "localhost/busybox:latest",
        command: ["/bin/sh", "-c", "sleep 1000"],
        limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
      },
    ]);
    const file = backend.logPath("red-agent-web-1");
    await until("container created", () => fs.existsSync(file));
    const rec = (text: string) => `2026-11-27T12:00:00.000000001Z stdout F ${text}\n`;
    fs.appendFileSync(file, rec("hello from the container"));
    await until("line stored", async () =>
      texts(await logsOf(alice, "red-agent")).includes("hello from the container"),
    );
    await agent.stop();
    fs.appendFileSync(file, rec("written while the agent was down"));
    await start();
    fs.appendFileSync(file, rec("after restart"));
    await until("backlog stored", async () => texts(await logsOf(alice, "red-agent")).includes("after restart"));
    const all = await logsOf(alice, "red-agent");
    expect(texts(all)).toEqual(["hello from the container", "written while the agent was down", "after restart"]);
    expect(all.body.entries[0]).toMatchObject({ instance: "red-agent-web-1", processType: "web", release: "v1" });
  });
});

describe("no silent log loss", () => {
  it("puts a marker with the count where rotated-away lines are missing, and keeps an old release's lines after a redeploy", async () => {
    expect((await alice.req("POST", "/api/v1/apps", { name: "red-rotate", team: "red-logs" })).status).toBe(201);
    const ws = await fakeNode(alice, "red-logs", "red-rotate-node");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-rotate-"));
    dirs.push(dir);
    // The agent's real shipper, sending over the node's connection; "connected" is what the agent's link would say.
    let connected = true;
    const shipper = new LogShipper({
      stateDir: path.join(dir, "state"),
      send: (b) => ws.send(encodeNotification("instance.logs", b)),
      canSend: () => connected,
      log: silentLogger(),
      intervalMs: 60_000,
      persistMs: 0,
    });
    const rec = (text: string) => `2026-11-27T12:00:00.000000001Z stdout F ${text}\n`;
    const container = (id: string, release: string): ContainerInfo => ({
      id,
      app: "red-rotate",
      release,
      processType: "web",
      status: "running",
      logPath: path.join(dir, id, "container.log"),
      createdAt: "2026-11-27T12:00:00Z",
    });
    try {
      const v1 = container("red-rotate-web-1", "v1");
      fs.mkdirSync(path.dirname(v1.logPath!));
      fs.writeFileSync(v1.logPath!, rec("v1 first"));
      await shipper.start([v1]);
      await shipper.flush();
      await until("first line", async () => texts(await logsOf(alice, "red-rotate")).includes("v1 first"));
      // The instance logs faster than the agent ships: four rotations (conmon's rename) before it reads again.
      connected = false;
      for (let i = 0; i < 4; i++) {
        if (i > 0) {
          fs.writeFileSync(`${v1.logPath!}.tmp`, "");
          fs.renameSync(`${v1.logPath!}.tmp`, v1.logPath!);
        }
        for (let j = 0; j < 10; j++) fs.appendFileSync(v1.logPath!, rec(`burst ${i}-${j}`));
        await shipper.flush();
      }
      connected = true;
      await shipper.flush();
      // Redeploy: the v1 instance is replaced by a v2 one, whose lines follow.
      await shipper.retain(v1.id);
      shipper.removed(v1.id);
      const v2 = container("red-rotate-web-2", "v2");
      fs.mkdirSync(path.dirname(v2.logPath!));
      fs.writeFileSync(v2.logPath!, rec("v2 first"));
      await shipper.track(v2);
      await shipper.flush();
      const all = await until("v2 line", async () => {
        const r = await logsOf(alice, "red-rotate", "?lines=1000");
        return texts(r).includes("v2 first") ? r : undefined;
      });
      const entries = all.body.entries as { text: string; release?: string; source: string; instance?: string }[];
      const marker = entries.filter((e) => e.source === "berth");
      expect(marker.map((e) => e.text)).toEqual([
        "[berth] 10 log lines lost: the node agent could not read them before their log file was rotated away (the instance logs faster than they are shipped, or the agent was disconnected for long)",
      ]);
      expect(marker[0]).toMatchObject({ instance: v1.id, release: "v1" });
      // The marker sits where the lines are missing: after v1's first line, before the bursts that were read.
      const order = entries.map((e) => e.text);
      expect(order.indexOf(marker[0]!.text)).toBe(order.indexOf("v1 first") + 1);
      expect(order.filter((t) => t.startsWith("burst 0-"))).toEqual([]);
      expect(order.filter((t) => t.startsWith("burst")).length).toBe(30);
      // The old release's lines stay readable after the redeploy, by instance too.
      expect(entries.filter((e) => e.release === "v1").length).toBe(1 + 1 + 30);
      expect(entries.at(-1)).toMatchObject({ text: "v2 first", release: "v2" });
      const old = await logsOf(alice, "red-rotate", `?instance=${v1.id}&lines=5`);
      expect(texts(old)).toEqual(["burst 3-5", "burst 3-6", "burst 3-7", "burst 3-8", "burst 3-9"]);
    } finally {
      await shipper.stop();
    }
  });

  it("says how many router access lines were skipped when an app gets more than the router forwarder keeps", async () => {
    expect((await alice.req("POST", "/api/v1/apps", { name: "red-busy", team: "red-logs" })).status).toBe(201);
    const router = new EventEmitter();
    const stop = forwardPlatformLines(srv.cp.services, router, new EventEmitter());
    try {
      // More lines than one flush keeps (5,000), all before the forwarder flushes.
      for (let i = 0; i < 5_123; i++) {
        router.emit("access", {
          app: "red-busy",
          at: new Date().toISOString(),
          method: "GET",
          path: `/${i}`,
          status: 200,
          durationMs: 1,
          bytes: 0,
          host: "red-busy.localhost",
        } satisfies AccessLine);
      }
      const r = await until("skip marker", async () => {
        const got = await logsOf(alice, "red-busy", "?lines=10");
        return texts(got).some((t) => /skipped/.test(t)) ? got : undefined;
      });
      expect(texts(r).at(-1)).toBe("123 access lines skipped (too many)");
    } finally {
      stop();
    }
  });
});
