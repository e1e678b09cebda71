// Browser/CLI live streams over one multiplexed WebSocket at /api/v1/stream.
// Authenticated like the API (session cookie with a same-origin check, or a bearer token); every subscription
// is authorized on the server: another team's app answers not_found, exactly like the REST API.
import type { IncomingMessage } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { z } from "zod";
import type { Actor, Services } from "../context.ts";
import { toErrorResponse } from "../errors.ts";
import { resolveApiToken } from "../tokens/api-tokens.ts";
import { SESSION_COOKIE, resolveSession } from "../auth/sessions.ts";
import { requireApp } from "../teams/access.ts";
import { AppName } from "../validation/names.ts";
import { type Channel, CHANNELS, type StreamHub } from "./hub.ts";

export const STREAM_PATH = "/api/v1/stream";
const HEARTBEAT_MS = 20_000;

const ClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), app: AppName, channel: z.enum(CHANNELS) }).strict(),
  z.object({ type: z.literal("unsubscribe"), app: AppName, channel: z.enum(CHANNELS) }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return out;
}

/** Authenticates an upgrade request; null means refuse with 401. */
async function authenticateUpgrade(s: Services, req: IncomingMessage): Promise<Actor | null> {
  const ip = req.socket.remoteAddress ?? "";
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
  if (bearer) {
    const user = await resolveApiToken(s.db, bearer);
    return user ? { userId: user.id, email: user.email, isAdmin: user.isAdmin, via: "token", ip } : null;
  }
  // Cookies ride along on cross-site WebSocket handshakes, so the Origin must be our own host.
  const origin = req.headers.origin;
  if (origin) {
    try {
      if (new URL(origin).host !== req.headers.host) return null;
    } catch {
      return null;
    }
  }
  const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const session = cookie ? await resolveSession(s.db, cookie) : null;
  if (!session) return null;
  return { userId: session.user.id, email: session.user.email, isAdmin: session.user.isAdmin, via: "session", ip };
}

/** Owns the WebSocket server for streams; `handleUpgrade` is called by the HTTP server for STREAM_PATH. */
export class StreamServer {
  readonly hub: StreamHub;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  /** The connected stream clients (server side), e.g. to check their buffered bytes. */
  get clients(): ReadonlySet<WebSocket> {
    return this.wss.clients;
  }
  private readonly heartbeat: NodeJS.Timeout;
  private readonly alive = new WeakMap<WebSocket, boolean>();

  constructor(private readonly s: Services) {
    this.hub = s.hub;
    this.heartbeat = setInterval(() => this.sweep(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Completes (or refuses) a WebSocket handshake. */
  handleUpgrade(req: IncomingMessage, socket: import("node:stream").Duplex, head: Buffer): void {
    authenticateUpgrade(this.s, req).then(
      (actor) => {
        if (!actor) {
          socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, actor));
      },
      (err: unknown) => {
        this.s.log.error({ err }, "stream upgrade failed");
        socket.end("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      },
    );
  }

  private accept(ws: WebSocket, actor: Actor): void {
    this.alive.set(ws, true);
    ws.on("pong", () => this.alive.set(ws, true));
    ws.on("message", (data) => {
      void this.onFrame(ws, actor, data.toString()).catch((err: unknown) => this.s.log.error({ err }, "stream frame failed"));
    });
    ws.on("close", () => this.hub.removeClient(ws));
    ws.send(JSON.stringify({ type: "hello", user: actor.email }));
  }

  private async onFrame(ws: WebSocket, actor: Actor, raw: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      ws.send(JSON.stringify({ type: "error", code: "bad_request", message: "frames must be JSON" }));
      return;
    }
    const frame = ClientFrame.safeParse(json);
    if (!frame.success) {
      ws.send(JSON.stringify({ type: "error", code: "validation_failed", message: frame.error.issues[0]?.message ?? "invalid frame" }));
      return;
    }
    const f = frame.data;
    if (f.type === "ping") {
      ws.send(JSON.stringify({ type: "pong" }));
      return;
    }
    if (f.type === "unsubscribe") {
      this.hub.unsubscribe(ws, f.app, f.channel);
      ws.send(JSON.stringify({ type: "unsubscribed", app: f.app, channel: f.channel }));
      return;
    }
    try {
      // Re-check membership on every subscription; never trust an earlier answer.
      await requireApp(this.s.db, actor, f.app, "app:read");
    } catch (err) {
      const { body } = toErrorResponse(err);
      ws.send(JSON.stringify({ type: "error", app: f.app, channel: f.channel, ...body.error }));
      return;
    }
    this.hub.subscribe(ws, f.app, f.channel as Channel);
    ws.send(JSON.stringify({ type: "subscribed", app: f.app, channel: f.channel }));
  }

  private sweep(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  /** Tells clients the server is going away (they reconnect) and closes every socket. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.close(1012, "server restarting");
    this.wss.close();
  }
}
