// Fan-out of live messages to subscribers, per app and channel. A slow subscriber never blocks others:
// when its socket buffer is over the limit, messages are counted as dropped and reported once it drains.
import type { WebSocket } from "ws";
import type { Logger } from "../logger.ts";

export const CHANNELS = ["logs", "stats", "events", "builds"] as const;
export type Channel = (typeof CHANNELS)[number];

/** Bytes buffered on a socket beyond which messages are dropped for it. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Sub {
  dropped: number;
}

export class StreamHub {
  private readonly topics = new Map<string, Map<WebSocket, Sub>>();

  constructor(private readonly log: Logger) {}

  private key(app: string, channel: Channel): string {
    return `${app}\u0000${channel}`;
  }

  /** Adds a socket to an app channel (authorization happens before this call). */
  subscribe(ws: WebSocket, app: string, channel: Channel): void {
    const k = this.key(app, channel);
    let subs = this.topics.get(k);
    if (!subs) this.topics.set(k, (subs = new Map()));
    subs.set(ws, { dropped: 0 });
  }

  /** Removes a socket from an app channel. */
  unsubscribe(ws: WebSocket, app: string, channel: Channel): void {
    const k = this.key(app, channel);
    this.topics.get(k)?.delete(ws);
    if (this.topics.get(k)?.size === 0) this.topics.delete(k);
  }

  /** Removes a socket from every channel (on close). */
  removeClient(ws: WebSocket): void {
    for (const [k, subs] of this.topics) {
      subs.delete(ws);
      if (subs.size === 0) this.topics.delete(k);
    }
  }

  /** Number of subscribers of an app channel. */
  subscriberCount(app: string, channel: Channel): number {
    return this.topics.get(this.key(app, channel))?.size ?? 0;
  }

  /** Sends `data` to every subscriber of the channel; over-full sockets get a dropped-count marker later. */
  publish(app: string, channel: Channel, data: unknown): void {
    const subs = this.topics.get(this.key(app, channel));
    if (!subs) return;
    const frame = JSON.stringify({ type: "message", app, channel, data });
    for (const [ws, sub] of subs) {
      if (ws.readyState !== ws.OPEN) continue;
      if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        sub.dropped++;
        continue;
      }
      if (sub.dropped > 0) {
        ws.send(JSON.stringify({ type: "dropped", app, channel, count: sub.dropped }));
        this.log.debug({ app, channel, dropped: sub.dropped }, "slow subscriber caught up");
        sub.dropped = 0;
      }
      ws.send(frame);
    }
  }
}
