// Browser/CLI live streams over one multiplexed WebSocket at /api/v1/stream.
// Authenticated like the API (session cookie with a same-origin check, or a bearer token); every subscription
// is authorized on the server: another team's app answers not_found, exactly like the REST API.
// Access is not checked once and trusted forever (docs/auth.md, "Live streams"):
// - a subscription is bound to the app's id it was authorized for, never to its name;
// - when access shrinks (AccessEvents: token revoked, session ended, membership changed, app destroyed or moved),
//   the affected subscriptions end at once with an `error` frame, and sockets whose credential ended are closed
//   with 4401 after an `error` frame;
// - every REVALIDATE_MS all sockets are re-checked against the database, for changes this process was not told
//   about (another control-plane process, expiry).
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { z } from "zod";
import type { Actor, Services } from "../context.ts";
import { type BerthError, errors, toErrorResponse } from "../errors.ts";
import { AppName } from "../validation/names.ts";
import { CHANNELS, type Channel } from "./channels.ts";
import type { StreamHub } from "./hub.ts";
import { authenticateUpgrade, credentialKey, liveCredentials, type StreamCredential } from "./stream-auth.ts";
import { authorizeSubscription, type HeldAccess, revokedAccess } from "./stream-access.ts";

export const STREAM_PATH = "/api/v1/stream";
const HEARTBEAT_MS = 20_000;
/** How often every socket's credential and subscriptions are re-checked against the database. */
export const REVALIDATE_MS = 60_000;
/** Close code for a socket whose credential ended (revoked token, ended session); clients must not reconnect with it. */
export const CLOSE_UNAUTHORIZED = 4401;

const ClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("subscribe"), app: AppName, channel: z.enum(CHANNELS) }).strict(),
  z.object({ type: z.literal("unsubscribe"), app: AppName, channel: z.enum(CHANNELS) }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);

/** One live subscription of a socket. */
interface Subscription extends HeldAccess {
  key: string;
}

/** One connected socket: who, by which credential, and what it is subscribed to (by name + channel). */
interface Conn {
  ws: WebSocket;
  actor: Actor;
  credential: StreamCredential;
  subs: Map<string, Subscription>;
  ended: boolean;
  /** Settles once the credential is known to be current; subscriptions wait for it. */
  verified: Promise<void>;
}

const subKey = (appName: string, channel: Channel) => `${appName}\u0000${channel}`;

/** Owns the WebSocket server for streams; `handleUpgrade` is called by the HTTP server for STREAM_PATH. */
export class StreamServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly conns = new Map<WebSocket, Conn>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly revalidator: NodeJS.Timeout;
  private revalidating: Promise<void> | null = null;
  private readonly alive = new WeakMap<WebSocket, boolean>();
  /** Bumped on every access change: a check that started before a change is redone after it. */
  private epoch = 0;

  /** The connected stream clients (server side), e.g. to check their buffered bytes. */
  get clients(): ReadonlySet<WebSocket> {
    return this.wss.clients;
  }

  constructor(
    private readonly s: Services,
    /** The same fan-out as `s.hub`, with its subscriber side (Services shows domain code only `publish`). */
    readonly hub: StreamHub,
  ) {
    this.heartbeat = setInterval(() => this.sweep(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.revalidator = setInterval(() => void this.revalidate(), REVALIDATE_MS);
    this.revalidator.unref();
    s.access.on("tokenRevoked", this.onTokenRevoked);
    s.access.on("sessionEnded", this.onSessionEnded);
    s.access.on("membershipChanged", this.onMembershipChanged);
    s.access.on("appDestroyed", this.onAppDestroyed);
    s.access.on("appTeamChanged", this.onAppTeamChanged);
  }

  /** Completes (or refuses) a WebSocket handshake. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const epoch = this.epoch;
    authenticateUpgrade(this.s, req).then(
      (identity) => {
        if (!identity) {
          socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          const conn = this.accept(ws, identity.actor, identity.credential);
          // The credential may have been revoked while the handshake was being checked: look again before any
          // subscription is served.
          if (this.epoch !== epoch) conn.verified = this.check([conn], [], { hold: true, credentials: true });
        });
      },
      (err: unknown) => {
        this.s.log.error({ err }, "stream upgrade failed");
        socket.end("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      },
    );
  }

  private accept(ws: WebSocket, actor: Actor, credential: StreamCredential): Conn {
    const conn: Conn = { ws, actor, credential, subs: new Map(), ended: false, verified: Promise.resolve() };
    this.conns.set(ws, conn);
    this.alive.set(ws, true);
    ws.on("pong", () => this.alive.set(ws, true));
    ws.on("message", (data) => {
      void this.onFrame(conn, data.toString()).catch((err: unknown) =>
        this.s.log.error({ err }, "stream frame failed"),
      );
    });
    ws.on("close", () => {
      conn.ended = true;
      this.conns.delete(ws);
      this.hub.removeClient(ws);
    });
    ws.send(JSON.stringify({ type: "hello", user: actor.email }));
    return conn;
  }

  private send(conn: Conn, frame: object): void {
    if (!conn.ended) conn.ws.send(JSON.stringify(frame));
  }

  private async onFrame(conn: Conn, raw: string): Promise<void> {
    if (conn.ended) return;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      this.send(conn, { type: "error", code: "bad_request", message: "frames must be JSON" });
      return;
    }
    const frame = ClientFrame.safeParse(json);
    if (!frame.success) {
      this.send(conn, {
        type: "error",
        code: "validation_failed",
        message: frame.error.issues[0]?.message ?? "invalid frame",
      });
      return;
    }
    const f = frame.data;
    if (f.type === "ping") {
      this.send(conn, { type: "pong" });
      return;
    }
    if (f.type === "unsubscribe") {
      this.drop(conn, subKey(f.app, f.channel));
      this.send(conn, { type: "unsubscribed", app: f.app, channel: f.channel });
      return;
    }
    await conn.verified;
    const epoch = this.epoch;
    let appId: string;
    try {
      // Checked on every subscription, never trusted from an earlier answer; the name is resolved to the id here.
      ({ appId } = await authorizeSubscription(this.s.db, conn.actor, f.app, f.channel));
    } catch (err) {
      const { body, unexpected } = toErrorResponse(err);
      if (unexpected) this.s.log.error({ err, app: f.app }, "authorizing a stream subscription failed");
      this.send(conn, { type: "error", app: f.app, channel: f.channel, ...body.error });
      return;
    }
    if (conn.ended) return;
    const key = subKey(f.app, f.channel);
    // The same name may now be another app (the old one destroyed elsewhere): never keep both.
    this.drop(conn, key);
    const sub: Subscription = { key, userId: conn.actor.userId, appId, appName: f.app, channel: f.channel };
    conn.subs.set(key, sub);
    this.hub.subscribe(conn.ws, appId, f.channel, f.app);
    this.send(conn, { type: "subscribed", app: f.app, channel: f.channel });
    // Access changed while this was being authorized: the answer may be stale, check again before anything flows.
    if (this.epoch !== epoch) await this.check([conn], [sub], { hold: true, credentials: true });
  }

  /** Removes one subscription of a socket (no frame). */
  private drop(conn: Conn, key: string): void {
    const sub = conn.subs.get(key);
    if (!sub) return;
    conn.subs.delete(key);
    this.hub.unsubscribe(conn.ws, sub.appId, sub.channel);
  }

  /** Ends one subscription: no more messages, then an `error` frame like a refused subscription. */
  private endSubscription(conn: Conn, sub: Subscription, err: BerthError): void {
    if (conn.subs.get(sub.key) !== sub) return;
    this.drop(conn, sub.key);
    const { body } = toErrorResponse(err);
    this.send(conn, { type: "error", app: sub.appName, channel: sub.channel, ...body.error });
  }

  /**
   * Ends a socket: nothing more is delivered, an `error` frame, then the close. A credential that ended gets
   * `unauthorized` and 4401 (clients must not retry with it); `unavailable` closes with 1011 (clients may retry).
   */
  private endConnection(conn: Conn, err: BerthError): void {
    if (conn.ended) return;
    this.hub.removeClient(conn.ws);
    conn.subs.clear();
    const { body } = toErrorResponse(err);
    this.send(conn, { type: "error", ...body.error });
    conn.ended = true;
    this.conns.delete(conn.ws);
    if (err.code === "unauthorized") conn.ws.close(CLOSE_UNAUTHORIZED, "unauthorized");
    else conn.ws.close(1011, "try again");
  }

  /**
   * Re-checks `conns` (their credential when `credentials`) and `subs` of them (all their subscriptions when
   * `subs` is empty) against the database and ends what is no longer allowed. With `hold`, the subscriptions get
   * nothing while the check runs (an access change was announced: not one message may slip through meanwhile);
   * if the check itself fails they are ended rather than trusted.
   */
  private async check(
    conns: readonly Conn[],
    subs: readonly Subscription[],
    opts: { hold: boolean; credentials: boolean },
  ): Promise<void> {
    const targets: { conn: Conn; sub: Subscription }[] = [];
    for (const conn of conns) {
      const list = subs.length > 0 ? subs : [...conn.subs.values()];
      for (const sub of list) if (conn.subs.get(sub.key) === sub) targets.push({ conn, sub });
    }
    if (opts.hold) for (const t of targets) this.hub.hold(t.conn.ws, t.sub.appId, t.sub.channel);
    const releaseAll = () => {
      if (!opts.hold) return;
      for (const t of targets)
        if (t.conn.subs.get(t.sub.key) === t.sub) this.hub.release(t.conn.ws, t.sub.appId, t.sub.channel);
    };
    try {
      const [live, revoked] = await Promise.all([
        opts.credentials
          ? liveCredentials(
              this.s.db,
              conns.map((c) => c.credential),
            )
          : null,
        revokedAccess(
          this.s.db,
          targets.map((t) => t.sub),
        ),
      ]);
      if (live) {
        for (const conn of conns) {
          if (!live.has(credentialKey(conn.credential))) {
            this.endConnection(conn, errors.unauthorized("the credential of this stream was revoked or expired"));
          }
        }
      }
      for (const t of targets) {
        const err = revoked.get(t.sub);
        if (err) this.endSubscription(t.conn, t.sub, err);
      }
      releaseAll();
    } catch (err) {
      this.s.log.error({ err }, "re-checking stream access failed");
      if (!opts.hold) return; // periodic: keep serving, the next round tries again
      // An announced change could not be verified: end what it may concern rather than trust it.
      if (opts.credentials) {
        for (const conn of conns)
          this.endConnection(conn, errors.unavailable("could not re-check this stream's credential"));
      }
      for (const t of targets)
        this.endSubscription(t.conn, t.sub, errors.unavailable("could not re-check access; subscribe again"));
    }
  }

  /** Every open socket and subscription checked against the database now (also runs every REVALIDATE_MS). */
  revalidate(): Promise<void> {
    this.revalidating ??= this.check([...this.conns.values()], [], { hold: false, credentials: true }).finally(() => {
      this.revalidating = null;
    });
    return this.revalidating;
  }

  private readonly changed = (): void => {
    this.epoch++;
  };

  private readonly onTokenRevoked = (tokenId: string): void => {
    this.changed();
    for (const conn of [...this.conns.values()]) {
      if (conn.credential.kind === "token" && conn.credential.id === tokenId)
        this.endConnection(conn, errors.unauthorized("the API token was revoked"));
    }
  };

  private readonly onSessionEnded = (sessionId: string): void => {
    this.changed();
    for (const conn of [...this.conns.values()]) {
      if (conn.credential.kind === "session" && conn.credential.id === sessionId)
        this.endConnection(conn, errors.unauthorized("the session ended"));
    }
  };

  private readonly onMembershipChanged = (_teamId: string, userId: string): void => {
    this.changed();
    // Every subscription of the user is re-checked: which app belongs to which team is read fresh, not remembered.
    const conns = [...this.conns.values()].filter((c) => c.actor.userId === userId && c.subs.size > 0);
    if (conns.length > 0) void this.check(conns, [], { hold: true, credentials: false });
  };

  private readonly onAppDestroyed = (appId: string): void => {
    this.changed();
    for (const conn of [...this.conns.values()]) {
      for (const sub of [...conn.subs.values()]) {
        if (sub.appId === appId) this.endSubscription(conn, sub, errors.notFound(`app '${sub.appName}'`));
      }
    }
  };

  private readonly onAppTeamChanged = (appId: string): void => {
    this.changed();
    const subs: Subscription[] = [];
    const conns: Conn[] = [];
    for (const conn of this.conns.values()) {
      const mine = [...conn.subs.values()].filter((s) => s.appId === appId);
      if (mine.length > 0) {
        conns.push(conn);
        subs.push(...mine);
      }
    }
    if (conns.length > 0) void this.check(conns, subs, { hold: true, credentials: false });
  };

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
    clearInterval(this.revalidator);
    this.s.access.off("tokenRevoked", this.onTokenRevoked);
    this.s.access.off("sessionEnded", this.onSessionEnded);
    this.s.access.off("membershipChanged", this.onMembershipChanged);
    this.s.access.off("appDestroyed", this.onAppDestroyed);
    this.s.access.off("appTeamChanged", this.onAppTeamChanged);
    for (const ws of this.wss.clients) ws.close(1012, "server restarting");
    this.wss.close();
  }
}
