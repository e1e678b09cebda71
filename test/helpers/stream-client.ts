// A test client of the /api/v1/stream WebSocket: keeps every frame it received, waits for frames, and offers a
// barrier (ping -> pong on the same socket) so that "nothing arrived" is checked after everything the server had
// already sent on that socket, instead of after an arbitrary sleep.
import WebSocket from "ws";

/** A frame as the server sends it (docs/api.md). */
export interface StreamFrame {
  type: string;
  app?: string;
  channel?: string;
  data?: any;
  code?: string;
  message?: string;
  count?: number;
  user?: string;
}

export class TestStream {
  readonly frames: StreamFrame[] = [];
  /** The close code once the socket closed (undefined while open). */
  closeCode: number | undefined;
  private readonly changed = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (raw: WebSocket.RawData) => {
      this.frames.push(JSON.parse(raw.toString()) as StreamFrame);
      this.notify();
    });
    ws.on("close", (code: number) => {
      this.closeCode = code;
      this.notify();
    });
  }

  /** Opens a stream with these handshake headers (bearer token or cookie + origin); rejects on HTTP refusal. */
  static open(base: string, headers: Record<string, string>): Promise<TestStream> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${base.replace(/^http/, "ws")}/api/v1/stream`, { headers });
      const stream = new TestStream(ws);
      ws.once("open", () => resolve(stream));
      ws.once("unexpected-response", (_req, res) => {
        ws.terminate();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
      ws.once("error", reject);
    });
  }

  private notify(): void {
    for (const fn of [...this.changed]) fn();
  }

  /** Waits for the first frame at index >= `from` matching `pred`; fails after `ms`. */
  waitFor(what: string, pred: (f: StreamFrame) => boolean, from = 0, ms = 10_000): Promise<StreamFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.frames.slice(from).find(pred);
        if (hit) {
          done();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(from).slice(-10))}`),
        );
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.changed.delete(check);
      };
      this.changed.add(check);
      check();
    });
  }

  /** Waits until the socket closed; resolves to its close code. */
  async waitClosed(ms = 10_000): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error("timed out waiting for the stream to close");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closeCode;
  }

  /** Subscribes and waits for the server's `subscribed` answer (throws with the error frame otherwise). */
  async subscribe(app: string, channel: string): Promise<void> {
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ type: "subscribe", app, channel }));
    const answer = await this.waitFor(
      `answer to subscribe ${app}/${channel}`,
      (f) => (f.type === "subscribed" || f.type === "error") && f.app === app && f.channel === channel,
      from,
    );
    if (answer.type !== "subscribed") throw new Error(`subscribe ${app}/${channel} refused: ${JSON.stringify(answer)}`);
  }

  /**
   * Everything the server wrote to this socket before it answered a ping has arrived once the pong is here (one
   * ordered connection): a negative check made after the barrier covers every message published before it.
   */
  async barrier(): Promise<void> {
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ type: "ping" }));
    await this.waitFor("pong", (f) => f.type === "pong", from);
  }

  /** `message` frames received at index >= `from` (optionally of one app). */
  messagesFrom(from: number, app?: string): StreamFrame[] {
    return this.frames.slice(from).filter((f) => f.type === "message" && (app === undefined || f.app === app));
  }

  /** Closes the socket (no-op when already closed). */
  close(): void {
    if (this.closeCode === undefined) this.ws.terminate();
  }
}
