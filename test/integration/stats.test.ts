// Resource stats end to end: an in-process agent (FakeBackend) streams node.stats over its real WebSocket, the
// ingest keeps them for the node's own instances only, GET /apps/{app}/stats and the `stats` stream channel serve
// them, and `berth stats` prints the current values.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { PROTOCOL_VERSION, type RegisterParams } from "../../runtime-agent/protocol/index.ts";
import type { StatsIngest } from "../../server/stats/ingest.ts";

const MiB = 1024 * 1024;
const APP = "stats-app";
const INSTANCE = "stats-app-web-1";
let srv: TestServer;
let ingest: StatsIngest;
let owner: ApiClient;
let ownerToken: ApiClient;
let outsider: ApiClient;
let joinToken = "";
let nodeId = "";
let agent: Agent;
let home: string;
const dirs: string[] = [];
const sockets: WebSocket[] = [];

interface Point {
  at: string;
  cpuPercent: number | null;
  memoryBytes: number;
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  pids: number;
}
interface Series {
  instanceId: string;
  processType: string;
  points: Point[];
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const register = (hostname: string): RegisterParams => ({
  protocolVersion: PROTOCOL_VERSION,
  hostname,
  address: "127.0.0.1",
  cpus: 2,
  memoryBytes: 4 * 1024 ** 3,
  diskBytes: 50 * 1024 ** 3,
  kernel: "6.1.0-test",
  cgroupVersion: 2,
  userNamespaces: true,
  agentVersion: "0.1.0",
});

async function series(client = owner, query = ""): Promise<Series[]> {
  const r = await client.req("GET", `/api/v1/apps/${APP}/stats${query}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body as { instances: Series[] }).instances;
}

/** A hand-driven agent: registers over a raw socket, then sends whatever frames the test wants. */
async function rawAgent(hostname: string): Promise<WebSocket> {
  const ws = new WebSocket(`${srv.url.replace("http", "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${joinToken}` },
  });
  sockets.push(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const registered = new Promise<void>((resolve) => {
    ws.on("message", (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { id?: string; result?: { nodeId?: string } };
      if (frame.id === "r1" && frame.result?.nodeId) resolve();
    });
  });
  ws.send(JSON.stringify({ id: "r1", method: "node.register", params: register(hostname) }));
  await registered;
  return ws;
}

beforeAll(async () => {
  srv = await startTestServer();
  ingest = srv.cp.statsIngest;
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-stats-"));
  dirs.push(home);
  owner = new ApiClient(srv.url);
  outsider = new ApiClient(srv.url);
  expect((await owner.signUp("stats-owner@example.com")).body.user.isAdmin).toBe(true);
  expect((await outsider.signUp("stats-outsider@example.com")).status).toBe(201);
  ownerToken = await owner.tokenClient("stats");
  expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: APP } });
  await srv.cp.services.db.release.create({
    data: { appId: app.id, version: 1, imageRef: "localhost/busybox:latest" },
  });
  joinToken = (await owner.req("POST", "/api/v1/nodes/join-tokens", { name: "stats" })).body.token;

  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-agent-"));
  dirs.push(stateDir);
  agent = await startAgent({
    controlPlane: srv.url,
    joinToken,
    stateDir,
    backend: new FakeBackend(),
    log: silentLogger(),
    tickMs: 200,
    statsIntervalMs: 600,
    register: async () => register("stats-node-a"),
  });
  const node = await until(
    "node registered",
    async () =>
      (await srv.cp.services.db.node.findFirst({ where: { name: "stats-node-a", state: "ready" } })) ?? undefined,
  );
  nodeId = node.id;
  await srv.cp.services.agents.setDesiredState(nodeId, [
    {
      id: INSTANCE,
      team: "team-stats",
      app: APP,
      release: "v1",
      processType: "web",
      image: "localhost/busybox:latest",
      command: ["/bin/sh", "-c", "sleep 1000"],
      limits: { memoryBytes: 64 * MiB, cpuMillis: 100 },
    },
  ]);
  await until("instance running", async () => {
    const row = await srv.cp.services.db.instance.findUnique({ where: { id: INSTANCE } });
    return row?.state === "running" && row.nodeId === nodeId;
  });
});

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await agent?.stop();
  ingest?.stop();
  await srv.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("stats from an agent", () => {
  it("keeps the node's samples and serves them with CPU % from the second point on", async () => {
    const [web] = await until("two points", async () => {
      const s = await series();
      return (s[0]?.points.length ?? 0) >= 2 && s;
    });
    expect(web).toMatchObject({ instanceId: INSTANCE, processType: "web" });
    const [first, second] = web?.points ?? [];
    expect(first?.cpuPercent).toBeNull();
    expect(second?.cpuPercent).toBeGreaterThan(0);
    expect(second).toMatchObject({ memoryLimitBytes: 64 * MiB, pids: 1 });
    expect(second?.memoryBytes).toBeGreaterThan(0);
    expect(second?.netRxBytes).toBeGreaterThan(first?.netRxBytes ?? Infinity);
    expect(Date.parse(second?.at ?? "")).toBeGreaterThan(Date.parse(first?.at ?? ""));

    // `since` keeps only newer points.
    const newer = await series(owner, `?since=${encodeURIComponent(second?.at ?? "")}`);
    expect(newer[0]?.points[0]?.at).toBe(second?.at);
    expect(newer[0]?.points.every((p) => p.at >= (second?.at ?? ""))).toBe(true);
  });

  it("publishes new points on the app's stats stream channel", async () => {
    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/api/v1/stream`, {
      headers: { authorization: `Bearer ${ownerToken.token}` },
    });
    sockets.push(ws);
    const message = new Promise<{ points: (Point & { instanceId: string; processType: string })[] }>((resolve) => {
      ws.on("message", (data: Buffer) => {
        const f = JSON.parse(data.toString()) as { type: string; channel?: string; data?: unknown };
        if (f.type === "hello") ws.send(JSON.stringify({ type: "subscribe", app: APP, channel: "stats" }));
        if (f.type === "message" && f.channel === "stats") resolve(f.data as never);
      });
    });
    const data = await message;
    expect(data.points[0]).toMatchObject({ instanceId: INSTANCE, processType: "web", memoryLimitBytes: 64 * MiB });
    expect(typeof data.points[0]?.cpuPercent).toBe("number");
  });

  it("ignores stats another node sends for an instance that is not its own (and for unknown instances)", async () => {
    const intruder = await rawAgent("stats-node-b");
    const sentAt = new Date();
    const fake = {
      cpuNanos: 1,
      memoryBytes: 777,
      memoryLimitBytes: 777,
      pids: 77,
      netRxBytes: 0,
      netTxBytes: 0,
      blkReadBytes: 0,
      blkWriteBytes: 0,
    };
    intruder.send(
      JSON.stringify({
        method: "node.stats",
        params: {
          at: new Date(sentAt.getTime() + 60_000).toISOString(),
          instances: [
            { instanceId: INSTANCE, ...fake },
            { instanceId: "stats-app-web-9", ...fake },
          ],
        },
      }),
    );
    // Node A keeps reporting; once one of its points is newer than the intruder's frame, that frame was handled.
    const after = await until("a newer point from node A", async () => {
      const s = await series();
      return s[0]?.points.some((p) => Date.parse(p.at) > sentAt.getTime() + 1_000) && s;
    });
    expect(after.map((s) => s.instanceId)).toEqual([INSTANCE]);
    expect(after[0]?.points.some((p) => p.memoryBytes === 777 || p.pids === 77)).toBe(false);
    expect(ingest.history.forApp("nope")).toEqual([]);
  });

  it("is 404 for another team's user, 401 without credentials, 422 for a bad since", async () => {
    const r = await outsider.req("GET", `/api/v1/apps/${APP}/stats`);
    expect(r.status).toBe(404);
    expect(JSON.stringify(r.body)).not.toContain(INSTANCE);
    expect((await new ApiClient(srv.url).req("GET", `/api/v1/apps/${APP}/stats`)).status).toBe(401);
    expect((await owner.req("GET", `/api/v1/apps/${APP}/stats?since=yesterday`)).status).toBe(422);
  });
});

describe("berth stats", () => {
  const berth = (args: string[]) => runBerth(args, { url: srv.url, token: ownerToken.token, home });

  it("prints one row per instance with its current values", async () => {
    const r = await berth(["stats", "-a", APP]);
    expect(r.code, r.stderr).toBe(0);
    const [header, row, extra] = r.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^INSTANCE\s+TYPE\s+CPU\s+MEMORY\s+NET RX \/ TX\s+PIDS$/);
    expect(row).toMatch(new RegExp(`^${INSTANCE}\\s+web\\s+\\d+\\.\\d%\\s+\\d+ MiB / 64 MiB\\s+\\S+ B / \\S+ B\\s+1$`));
    expect(extra).toBeUndefined();
  });

  it("prints JSON with --json, and fails for an app the caller cannot see", async () => {
    const r = await berth(["stats", "-a", APP, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const current = JSON.parse(r.stdout) as (Point & { instanceId: string })[];
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({ instanceId: INSTANCE, processType: "web", memoryLimitBytes: 64 * MiB });
    const missing = await berth(["stats", "-a", "no-such-app"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found/);
  });
});
