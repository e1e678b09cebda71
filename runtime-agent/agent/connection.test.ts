import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { silentLogger } from "../log.ts";
import { encodeNotification, encodeRequest, encodeResult, parseFrame, PROTOCOL_VERSION } from "../protocol/index.ts";
import type { RegisterParams } from "../protocol/register.ts";
import { AgentConnection, agentUrl } from "./connection.ts";

type Server = { wss: WebSocketServer; url: string; sockets: WebSocket[]; frames: unknown[]; auth: string[] };
let server: Server | undefined;
let conn: AgentConnection | undefined;

async function startServer(opts: { answerRegister?: boolean } = {}): Promise<Server> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const s: Server = {
    wss,
    url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`,
    sockets: [],
    frames: [],
    auth: [],
  };
  wss.on("connection", (ws, req) => {
    s.sockets.push(ws);
    s.auth.push(req.headers.authorization ?? "");
    ws.on("message", (data: Buffer) => {
      const out = parseFrame(data);
      s.frames.push(out.ok ? out.frame : out);
      if (
        out.ok &&
        out.frame.kind === "request" &&
        out.frame.method === "node.register" &&
        opts.answerRegister !== false
      )
        ws.send(encodeResult(out.frame.id, "node.register", { nodeId: "n1", heartbeatMs: 1000 }));
    });
  });
  server = s;
  return s;
}

const register = async (): Promise<RegisterParams> => ({
  protocolVersion: PROTOCOL_VERSION,
  hostname: "node-1",
  address: "127.0.0.1",
  cpus: 1,
  memoryBytes: 1,
  diskBytes: 1,
  kernel: "6.1",
  cgroupVersion: 1 as const,
  userNamespaces: true,
  agentVersion: "0.1.0",
});

function connect(url: string, applied: unknown[] = []) {
  const registered: string[] = [];
  conn = new AgentConnection({
    url,
    token: "bn_secret-token-value-123456",
    log: silentLogger(),
    random: () => 0,
    handlers: {
      register,
      registered: (r) => registered.push(r.nodeId),
      applyDesiredState: async (s) => {
        applied.push(s);
        return { generation: s.generation, changed: true };
      },
      observedState: () => [{ id: "a", state: "running", generation: 1, restarts: 0 }],
    },
  });
  conn.start();
  return registered;
}

async function until(what: string, fn: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

afterEach(async () => {
  conn?.close();
  for (const ws of server?.sockets ?? []) ws.terminate();
  await new Promise((r) => server?.wss.close(r) ?? r(undefined));
  server = undefined;
});

describe("agentUrl", () => {
  it("maps the control plane's base URL to the agent endpoint", () => {
    expect(agentUrl("http://cp:3000/")).toBe("ws://cp:3000/api/v1/agent");
    expect(agentUrl("https://cp.example/x?y=1")).toBe("wss://cp.example/api/v1/agent");
  });
});

describe("AgentConnection", () => {
  it("authenticates, registers, answers requests and flushes queued notifications after registering", async () => {
    const s = await startServer();
    const applied: unknown[] = [];
    const registered = connect(s.url, applied);
    conn!.notify("node.reconnect", {}); // queued before the socket is up
    await until("registered", () => registered.length === 1);
    expect(s.auth[0]).toBe("Bearer bn_secret-token-value-123456");
    await until("queued frame", () => s.frames.some((f) => (f as { method?: string }).method === "node.reconnect"));
    const ws = s.sockets[0]!;
    ws.send(encodeRequest(5, "node.applyDesiredState", { generation: 3, instances: [] }));
    ws.send(encodeRequest(6, "node.observedState", {}));
    ws.send('{"id":7,"method":"node.shell","params":{}}');
    ws.send('{"id":8,"method":"node.applyDesiredState","params":{"generation":1,"instances":[],"privileged":true}}');
    await until("answers", () => s.frames.filter((f) => (f as { kind?: string }).kind !== "request").length >= 5);
    const byId = (id: number) => s.frames.find((f) => (f as { id?: unknown }).id === id);
    expect(byId(5)).toMatchObject({ kind: "result", result: { generation: 3, changed: true } });
    expect(byId(6)).toMatchObject({ kind: "result", result: { instances: [{ id: "a" }] } });
    expect(byId(7)).toMatchObject({ kind: "error", error: { code: "unknown_method" } });
    expect(byId(8)).toMatchObject({ kind: "error", error: { code: "invalid_params" } });
    expect(applied).toHaveLength(1);
  });

  it("refuses requests before registration", async () => {
    const s = await startServer({ answerRegister: false });
    connect(s.url);
    await until("connected", () => s.frames.length === 1);
    s.sockets[0]!.send(encodeRequest(1, "node.observedState", {}));
    await until("answer", () => s.frames.length === 2);
    expect(s.frames[1]).toMatchObject({ kind: "error", error: { code: "unavailable" } });
  });

  it("reconnects after the socket drops and at once on node.reconnect", async () => {
    const s = await startServer();
    const registered = connect(s.url);
    await until("registered", () => registered.length === 1);
    s.sockets[0]!.terminate();
    await until("re-registered", () => registered.length === 2);
    s.sockets[1]!.send(encodeNotification("node.reconnect", {}));
    await until("re-registered again", () => registered.length === 3);
  });

  it("drops a silent control plane after two missed heartbeats", async () => {
    const s = await startServer();
    const registered = connect(s.url);
    await until("registered", () => registered.length === 1);
    // Stop reading: no pongs, no frames.
    (s.sockets[0] as unknown as { _socket: { pause(): void } })._socket.pause();
    await until("reconnected", () => registered.length === 2, 8000);
  });
});
