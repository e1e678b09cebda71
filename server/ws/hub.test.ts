import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { pino } from "pino";
import { MAX_BUFFERED_BYTES, StreamHub } from "./hub.ts";

/** A socket double: records frames; `bufferedAmount` simulates a client that stopped reading. */
function fakeSocket() {
  const sent: any[] = [];
  const ws = { OPEN: 1, readyState: 1, bufferedAmount: 0, send: (f: string) => sent.push(JSON.parse(f)) };
  return { ws: ws as unknown as WebSocket & { bufferedAmount: number }, sent };
}

describe("StreamHub", () => {
  const log = pino({ level: "silent" });

  it("delivers only to subscribers of the app and channel", () => {
    const hub = new StreamHub(log);
    const a = fakeSocket();
    const b = fakeSocket();
    hub.subscribe(a.ws, "id-1", "logs", "one");
    hub.subscribe(b.ws, "id-2", "logs", "two");
    hub.publish("id-1", "logs", { n: 1 });
    hub.publish("id-1", "stats", { n: 2 });
    expect(a.sent).toEqual([{ type: "message", app: "one", channel: "logs", data: { n: 1 } }]);
    expect(b.sent).toEqual([]);
  });

  it("drops for a slow subscriber without affecting others, then reports the count", () => {
    const hub = new StreamHub(log);
    const slow = fakeSocket();
    const fast = fakeSocket();
    hub.subscribe(slow.ws, "id-1", "logs", "one");
    hub.subscribe(fast.ws, "id-1", "logs", "one");
    (slow.ws as any).bufferedAmount = MAX_BUFFERED_BYTES + 1;
    for (let i = 0; i < 5; i++) hub.publish("id-1", "logs", { i });
    expect(slow.sent).toHaveLength(0);
    expect(fast.sent).toHaveLength(5);
    (slow.ws as any).bufferedAmount = 0;
    hub.publish("id-1", "logs", { i: 5 });
    expect(slow.sent).toEqual([
      { type: "dropped", app: "one", channel: "logs", count: 5 },
      { type: "message", app: "one", channel: "logs", data: { i: 5 } },
    ]);
  });

  it("forgets a client on removal", () => {
    const hub = new StreamHub(log);
    const a = fakeSocket();
    hub.subscribe(a.ws, "id-1", "logs", "one");
    hub.subscribe(a.ws, "id-1", "events", "one");
    hub.removeClient(a.ws);
    expect(hub.subscriberCount("id-1", "logs")).toBe(0);
    expect(hub.subscriberCount("id-1", "events")).toBe(0);
  });

  it("keys topics by app id: a new app under a destroyed app's name reaches only its own subscribers", () => {
    const hub = new StreamHub(log);
    const old = fakeSocket();
    const reborn = fakeSocket();
    hub.subscribe(old.ws, "id-old", "builds", "shop");
    hub.subscribe(reborn.ws, "id-new", "builds", "shop");
    hub.publish("id-new", "builds", { text: "new" });
    expect(old.sent).toEqual([]);
    expect(reborn.sent).toEqual([{ type: "message", app: "shop", channel: "builds", data: { text: "new" } }]);
  });

  it("holds a subscription while its access is re-checked: nothing is sent, the gap is reported after release", () => {
    const hub = new StreamHub(log);
    const a = fakeSocket();
    hub.subscribe(a.ws, "id-1", "logs", "one");
    hub.hold(a.ws, "id-1", "logs");
    hub.hold(a.ws, "id-1", "logs");
    hub.publish("id-1", "logs", { i: 0 });
    hub.release(a.ws, "id-1", "logs");
    hub.publish("id-1", "logs", { i: 1 });
    expect(a.sent).toEqual([]);
    hub.release(a.ws, "id-1", "logs");
    hub.publish("id-1", "logs", { i: 2 });
    expect(a.sent).toEqual([
      { type: "dropped", app: "one", channel: "logs", count: 2 },
      { type: "message", app: "one", channel: "logs", data: { i: 2 } },
    ]);
  });
});
