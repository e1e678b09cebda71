// Fan-out of live messages to subscribers, per app and channel. A slow subscriber never blocks others:
// when its socket buffer is over the limit, messages are counted as dropped and reported once it drains.
// Topics are keyed by the app's id, never its name: a name can be destroyed and taken by another team's new app,
// and a subscription authorized for the old app must never receive the new one's messages.
import type { WebSocket } from "ws";
import type { Logger } from "../logger.ts";
import type { Channel, StreamPublisher } from "../service-types.ts";

/** Bytes buffered on a socket beyond which messages are dropped for it. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Sub {
  /** The app name the client subscribed with; frames carry it so the client can match its topic. */
  app: string;
  dropped: number;
  /** Holds while its access is being re-checked: messages meanwhile are counted as dropped, not sent. */
  held: number;
}

export class StreamHub implements StreamPublisher {
  private readonly topics = new Map<string, Map<WebSocket, Sub>>();

  constructor(private readonly log: Logger) {}

  private key(appId: string, channel: Channel): string {
    return `${appId}\u0000${channel}`;
  }

  private sub(ws: WebSocket, appId: string, channel: Channel): Sub | undefined {
    return this.topics.get(this.key(appId, channel))?.get(ws);
  }

  /** Adds a socket to an app channel (authorization happens before this call); `appName` labels its frames. */
  subscribe(ws: WebSocket, appId: string, channel: Channel, appName: string): void {
    const k = this.key(appId, channel);
    let subs = this.topics.get(k);
    if (!subs) this.topics.set(k, (subs = new Map()));
    subs.set(ws, { app: appName, dropped: 0, held: 0 });
  }

  /** Removes a socket from an app channel. */
  unsubscribe(ws: WebSocket, appId: string, channel: Channel): void {
    const k = this.key(appId, channel);
    this.topics.get(k)?.delete(ws);
    if (this.topics.get(k)?.size === 0) this.topics.delete(k);
  }

  /**
   * Stops delivering to one subscription until `release` (messages meanwhile count as dropped, so the client is
   * told it missed some). Used while an access change is re-checked, so nothing leaks during the check.
   */
  hold(ws: WebSocket, appId: string, channel: Channel): void {
    const sub = this.sub(ws, appId, channel);
    if (sub) sub.held++;
  }

  /** Undoes one `hold` (no-op when the subscription is gone). */
  release(ws: WebSocket, appId: string, channel: Channel): void {
    const sub = this.sub(ws, appId, channel);
    if (sub && sub.held > 0) sub.held--;
  }

  /** Removes a socket from every channel (on close). */
  removeClient(ws: WebSocket): void {
    for (const [k, subs] of this.topics) {
      subs.delete(ws);
      if (subs.size === 0) this.topics.delete(k);
    }
  }

  /** Number of subscribers of an app channel. */
  subscriberCount(appId: string, channel: Channel): number {
    return this.topics.get(this.key(appId, channel))?.size ?? 0;
  }

  /** Sends `data` to every subscriber of the app's channel; over-full or held ones get a dropped-count marker later. */
  publish(appId: string, channel: Channel, data: unknown): void {
    const subs = this.topics.get(this.key(appId, channel));
    if (!subs) return;
    const body = JSON.stringify(data) ?? "null";
    // Every subscriber of one app normally uses the same name: one frame per name, built once.
    const frames = new Map<string, string>();
    for (const [ws, sub] of subs) {
      if (ws.readyState !== ws.OPEN) continue;
      if (sub.held > 0 || ws.bufferedAmount > MAX_BUFFERED_BYTES) {
        sub.dropped++;
        continue;
      }
      if (sub.dropped > 0) {
        ws.send(JSON.stringify({ type: "dropped", app: sub.app, channel, count: sub.dropped }));
        this.log.debug({ app: sub.app, channel, dropped: sub.dropped }, "slow subscriber caught up");
        sub.dropped = 0;
      }
      let frame = frames.get(sub.app);
      if (frame === undefined) {
        frame = `{"type":"message","app":${JSON.stringify(sub.app)},"channel":${JSON.stringify(channel)},"data":${body}}`;
        frames.set(sub.app, frame);
      }
      ws.send(frame);
    }
  }
}
