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
    hub.subscribe(a.ws, "one", "logs");
    hub.subscribe(b.ws, "two", "logs");
    hub.publish("one", "logs", { n: 1 });
    hub.publish("one", "stats", { n: 2 });
    expect(a.sent).toEqual([{ type: "message", app: "one", channel: "logs", data: { n: 1 } }]);
    expect(b.sent).toEqual([]);
  });

  it("drops for a slow subscriber without affecting others, then reports the count", () => {
    const hub = new StreamHub(log);
    const slow = fakeSocket();
    const fast = fakeSocket();
    hub.subscribe(slow.ws, "one", "logs");
    hub.subscribe(fast.ws, "one", "logs");
    (slow.ws as any).bufferedAmount = MAX_BUFFERED_BYTES + 1;
    for (let i = 0; i < 5; i++) hub.publish("one", "logs", { i });
    expect(slow.sent).toHaveLength(0);
    expect(fast.sent).toHaveLength(5);
    (slow.ws as any).bufferedAmount = 0;
    hub.publish("one", "logs", { i: 5 });
    expect(slow.sent).toEqual([
      { type: "dropped", app: "one", channel: "logs", count: 5 },
      { type: "message", app: "one", channel: "logs", data: { i: 5 } },
    ]);
  });

  it("forgets a client on removal", () => {
    const hub = new StreamHub(log);
    const a = fakeSocket();
    hub.subscribe(a.ws, "one", "logs");
    hub.subscribe(a.ws, "one", "events");
    hub.removeClient(a.ws);
    expect(hub.subscriberCount("one", "logs")).toBe(0);
    expect(hub.subscriberCount("one", "events")).toBe(0);
  });
});
