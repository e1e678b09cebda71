// The /api/v1/stream WebSocket: authentication, per-subscription authorization, fan-out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let alice: ApiClient;
let bob: ApiClient;
let aliceToken: ApiClient;

beforeAll(async () => {
  srv = await startTestServer();
  alice = new ApiClient(srv.url);
  await alice.signUp("alice-stream@example.com");
  bob = new ApiClient(srv.url);
  await bob.signUp("bob-stream@example.com");
  expect((await alice.req("POST", "/api/v1/apps", { name: "alice-app" })).status).toBe(201);
  expect((await bob.req("POST", "/api/v1/apps", { name: "bob-app" })).status).toBe(201);
  aliceToken = await alice.tokenClient();
});
afterAll(async () => srv.close());

function open(headers: Record<string, string>): Promise<{ ws: WebSocket; frames: any[]; next: () => Promise<any> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/api/v1/stream`, { headers });
    const frames: any[] = [];
    const waiters: ((f: any) => void)[] = [];
    ws.on("message", (d) => {
      const f = JSON.parse(d.toString());
      const w = waiters.shift();
      if (w) w(f);
      else frames.push(f);
    });
    ws.on("open", () =>
      resolve({
        ws,
        frames,
        next: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
      }),
    );
    ws.on("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on("error", reject);
  });
}

describe("stream websocket", () => {
  it("refuses anonymous handshakes with 401", async () => {
    await expect(open({})).rejects.toThrow("HTTP 401");
  });

  it("refuses a cookie handshake from another origin", async () => {
    await expect(open({ cookie: alice.cookie, origin: "http://evil.example" })).rejects.toThrow("HTTP 401");
  });

  it("refuses a revoked token", async () => {
    const c = await alice.tokenClient("short-lived");
    const list = await alice.req<any[]>("GET", "/api/v1/tokens");
    const id = list.body.find((t) => c.token.startsWith(t.prefix))?.id;
    expect((await alice.req("DELETE", `/api/v1/tokens/${id}`)).status).toBe(200);
    await expect(open({ authorization: `Bearer ${c.token}` })).rejects.toThrow("HTTP 401");
  });

  it("authorizes each subscription: own app ok, another team's app not_found", async () => {
    const { ws, next } = await open({ authorization: `Bearer ${aliceToken.token}` });
    expect((await next()).type).toBe("hello");
    ws.send(JSON.stringify({ type: "subscribe", app: "bob-app", channel: "logs" }));
    const denied = await next();
    expect(denied).toMatchObject({ type: "error", code: "not_found", app: "bob-app" });
    // The hub is keyed by app id (a name can be reused by another team's new app after a destroy).
    const idOf = async (name: string) => (await srv.cp.services.db.app.findUniqueOrThrow({ where: { name } })).id;
    const [aliceAppId, bobAppId] = [await idOf("alice-app"), await idOf("bob-app")];
    expect(srv.cp.streams.hub.subscriberCount(bobAppId, "logs")).toBe(0);

    ws.send(JSON.stringify({ type: "subscribe", app: "alice-app", channel: "logs" }));
    expect(await next()).toMatchObject({ type: "subscribed", app: "alice-app", channel: "logs" });
    srv.cp.streams.hub.publish(aliceAppId, "logs", { line: "hello from the hub" });
    srv.cp.streams.hub.publish(bobAppId, "logs", { line: "must not arrive" });
    expect(await next()).toMatchObject({ type: "message", app: "alice-app", data: { line: "hello from the hub" } });

    ws.send(JSON.stringify({ type: "subscribe", app: "$(id)", channel: "logs" }));
    expect(await next()).toMatchObject({ type: "error", code: "validation_failed" });
    ws.send("not json");
    expect(await next()).toMatchObject({ type: "error", code: "bad_request" });
    ws.close();
  });

  it("accepts the session cookie from the same origin", async () => {
    const { ws, next } = await open({ cookie: alice.cookie, origin: srv.url });
    expect(await next()).toMatchObject({ type: "hello", user: "alice-stream@example.com" });
    ws.close();
  });
});
