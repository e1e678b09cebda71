// Exec sessions on the control plane (`berth ps:exec`, the dashboard console): authorizes and audits a session,
// picks the instance, asks its node's agent to start the process (`instance.exec`), and relays the streams between
// the client socket (exec-socket.ts) and the agent socket with the flow control of runtime-agent/protocol/exec.ts.
// Access is not checked once and trusted: a revoked token, an ended browser session, a changed membership, a
// destroyed or moved app end the session at once (AccessEvents), and every REVALIDATE_MS all sessions are checked
// again against the database. Sessions also end when idle, when the process exits, and when the node goes away.
import crypto from "node:crypto";
import { EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES } from "../../runtime-agent/protocol/index.ts";
import type { Actor, Services } from "../context.ts";
import { BerthError, errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import type { ExecNotification } from "../nodes/agent-session.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import { requireApp } from "../teams/access.ts";
import { credentialKey, liveCredentials, type StreamCredential } from "../ws/stream-auth.ts";

/** How often every session's credential and role are re-checked against the database. */
export const REVALIDATE_MS = 60_000;
/** Input a client may have queued on the control plane beyond the agent's window before its session ends. */
const MAX_QUEUED_INPUT = 1024 * 1024;

/** Close codes the client socket gets (4xxx: do not retry with the same request). */
export const EXEC_CLOSE = {
  exited: 1000,
  credentialEnded: 4401,
  accessEnded: 4403,
  idle: 4408,
  ended: 4410,
} as const;

/** What the client asked for. */
export interface ExecStart {
  app: string;
  /** Instance id; default: the first running web instance, else the first running one. */
  instance?: string | undefined;
  command: string[];
  tty: boolean;
  cols: number;
  rows: number;
  /** The audit event instead of `instance.exec` (`berth run`: `instance.run`). */
  audit?: { action: string; data: Record<string, unknown> } | undefined;
  /** The caller already holds one of the user's slots (reserve()); it is not counted twice. */
  reserved?: boolean | undefined;
  /**
   * The app whose instance runs the session when it is not `app`: an add-on's hidden service app, which no app route
   * reaches; access is authorized (and re-checked) on `app`, the add-on's owner.
   */
  target?: { id: string; name: string } | undefined;
}

/** The client side of a session (the socket in exec-socket.ts, or a test). */
export interface ExecClient {
  /** Output bytes; call `delivered` once they are written out, which gives the agent credit for more. */
  output(stream: "stdout" | "stderr", data: Buffer, delivered: () => void): void;
  /** Stop reading input (the agent's window and our queue are full) / read again. */
  pauseInput(): void;
  resumeInput(): void;
  /** The session is over: the process exited (`exitCode`, `reason` when it was stopped) or it was ended. */
  end(outcome: ExecOutcome): void;
}

/** How a session ended: the process exited (`reason`: why it was stopped, if it was) or the session was ended. */
export type ExecOutcome = { exitCode: number; reason?: string } | { reason: string; closeCode: number };

/** Handle of an open session for the client side. */
export interface ExecHandle {
  session: string;
  instance: string;
  input(data: Buffer): void;
  eof(): void;
  resize(cols: number, rows: number): void;
  /** The client went away: the process is killed. */
  close(): void;
}

interface Session {
  id: string;
  nodeId: string;
  instance: string;
  appId: string;
  appName: string;
  teamId: string;
  actor: Actor;
  credential: StreamCredential;
  client: ExecClient;
  /** Input sent to the agent and not yet written there. */
  inFlight: number;
  queue: Buffer[];
  queued: number;
  eofQueued: boolean;
  started: boolean;
  ended: boolean;
  idle: NodeJS.Timeout | undefined;
}

/** Options (from the server config). */
export interface ExecBrokerOptions {
  idleTimeoutMs: number;
  maxSessionsPerUser: number;
}

const RUNNING = "running";

/** Owns every exec session of this control plane. */
export class ExecBroker {
  private readonly sessions = new Map<string, Session>();
  /** Slots held per user by sessions still being prepared (`berth run` waiting for its container). */
  private readonly reservations = new Map<string, number>();
  private readonly revalidator: NodeJS.Timeout;

  constructor(
    private readonly s: Services,
    private readonly hub: AgentHub,
    private readonly opts: ExecBrokerOptions,
  ) {
    hub.on("exec", this.onAgentFrame);
    hub.on("down", this.onNodeDown);
    s.access.on("tokenRevoked", this.onTokenRevoked);
    s.access.on("sessionEnded", this.onSessionEnded);
    s.access.on("membershipChanged", this.onMembershipChanged);
    s.access.on("appDestroyed", this.onAppChanged);
    s.access.on("appTeamChanged", this.onAppChanged);
    this.revalidator = setInterval(() => void this.revalidate(), REVALIDATE_MS);
    this.revalidator.unref();
  }

  /** Open sessions (all users). */
  get size(): number {
    return this.sessions.size;
  }

  /**
   * Authorizes (member and up; another team's app is 404), audits and starts a session. Throws BerthError:
   * not_found (app, instance), forbidden (role), rate_limited (per-user cap), conflict (instance not running),
   * unavailable (node not connected or refused).
   */
  async open(actor: Actor, credential: StreamCredential, req: ExecStart, client: ExecClient): Promise<ExecHandle> {
    const { app } = await requireApp(this.s.db, actor, req.app, "app:exec");
    if (!req.reserved) this.checkCap(actor);
    const where = req.target ?? app;
    const instance = await this.pickInstance(where.id, where.name, req.instance);
    const nodeId = instance.nodeId;
    if (!nodeId || !this.hub.isConnected(nodeId)) throw errors.unavailable("the instance's node is not connected");
    const session: Session = {
      id: `x${crypto.randomBytes(12).toString("hex")}`,
      nodeId,
      instance: instance.id,
      appId: app.id,
      appName: app.name,
      teamId: app.teamId,
      actor,
      credential,
      client,
      inFlight: 0,
      queue: [],
      queued: 0,
      eofQueued: false,
      started: false,
      ended: false,
      idle: undefined,
    };
    // Counted against the cap (and able to receive early output) from here on.
    this.sessions.set(session.id, session);
    try {
      // Who, which instance, when (the event's time); never what is typed or printed.
      await recordAudit(this.s.db, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: req.audit?.action ?? "instance.exec",
        target: instance.id,
        data: req.audit?.data ?? { tty: req.tty, interactive: req.command.length === 0 },
      });
      await this.hub.request(nodeId, "instance.exec", {
        session: session.id,
        instanceId: instance.id,
        command: req.command.length > 0 ? req.command : ["/bin/sh"],
        tty: req.tty,
        cols: req.cols,
        rows: req.rows,
      });
    } catch (err) {
      this.sessions.delete(session.id);
      session.ended = true;
      if (err instanceof BerthError) throw err;
      throw new BerthError("unavailable", "the node could not start the session", { cause: err });
    }
    if (session.ended) throw errors.unavailable("the session ended while it was starting");
    session.started = true;
    this.touch(session);
    this.flush(session);
    this.s.log.info(
      { session: session.id, instance: instance.id, app: app.name, user: actor.userId },
      "exec session opened",
    );
    return {
      session: session.id,
      instance: instance.id,
      input: (data) => this.input(session, data),
      eof: () => {
        session.eofQueued = true;
        this.flush(session);
      },
      resize: (cols, rows) => {
        if (!session.ended) this.hub.notify(session.nodeId, "exec.resize", { session: session.id, cols, rows });
      },
      close: () => this.end(session, { reason: "client closed", closeCode: EXEC_CLOSE.ended }, true),
    };
  }

  /**
   * Holds one of the user's session slots while a session is prepared (throws rate_limited past the cap); call the
   * returned function once, after open() (called with `reserved: true`) returned or threw.
   */
  reserve(actor: Actor): () => void {
    this.checkCap(actor);
    const user = actor.userId;
    this.reservations.set(user, (this.reservations.get(user) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const n = (this.reservations.get(user) ?? 1) - 1;
      if (n > 0) this.reservations.set(user, n);
      else this.reservations.delete(user);
    };
  }

  private checkCap(actor: Actor): void {
    const mine =
      [...this.sessions.values()].filter((x) => x.actor.userId === actor.userId).length +
      (this.reservations.get(actor.userId) ?? 0);
    if (mine >= this.opts.maxSessionsPerUser)
      throw errors.rateLimited(
        `you have ${mine} open exec sessions; close one first (limit ${this.opts.maxSessionsPerUser})`,
      );
  }

  /** Ends every session (control plane stopping). */
  close(): void {
    clearInterval(this.revalidator);
    this.hub.off("exec", this.onAgentFrame);
    this.hub.off("down", this.onNodeDown);
    this.s.access.off("tokenRevoked", this.onTokenRevoked);
    this.s.access.off("sessionEnded", this.onSessionEnded);
    this.s.access.off("membershipChanged", this.onMembershipChanged);
    this.s.access.off("appDestroyed", this.onAppChanged);
    this.s.access.off("appTeamChanged", this.onAppChanged);
    for (const x of this.sessions.values())
      this.end(x, { reason: "the control plane is restarting", closeCode: 1012 }, true);
  }

  /** Re-checks every session's credential and role now (also runs every REVALIDATE_MS). */
  async revalidate(filter: (x: Session) => boolean = () => true): Promise<void> {
    const held = [...this.sessions.values()].filter((x) => !x.ended && filter(x));
    if (held.length === 0) return;
    const live = await liveCredentials(
      this.s.db,
      held.map((x) => x.credential),
    );
    for (const x of held) {
      if (!live.has(credentialKey(x.credential))) {
        this.end(x, { reason: "your credential was revoked or expired", closeCode: EXEC_CLOSE.credentialEnded }, true);
        continue;
      }
      const allowed = await requireApp(this.s.db, x.actor, x.appName, "app:exec").then(
        ({ app }) => app.id === x.appId,
        () => false,
      );
      if (!allowed)
        this.end(x, { reason: "you no longer have access to this app", closeCode: EXEC_CLOSE.accessEnded }, true);
    }
  }

  private async pickInstance(appId: string, appName: string, id: string | undefined) {
    if (id !== undefined) {
      const row = await this.s.db.instance.findFirst({ where: { id, appId } });
      if (!row) throw errors.notFound(`instance '${id}' of app '${appName}'`);
      if (row.state !== RUNNING) throw errors.conflict(`instance '${id}' is ${row.state}, not running`);
      return row;
    }
    const running = await this.s.db.instance.findMany({
      where: { appId, state: RUNNING, desired: { not: "oneoff" } },
      orderBy: { createdAt: "asc" },
    });
    const pick = running.find((r) => r.processType === "web") ?? running[0];
    if (!pick) throw errors.conflict(`app '${appName}' has no running instance`);
    return pick;
  }

  private input(x: Session, data: Buffer): void {
    if (x.ended || x.eofQueued) return;
    x.queue.push(data);
    x.queued += data.length;
    if (x.queued > MAX_QUEUED_INPUT) {
      this.end(x, { reason: "input arrived faster than the instance reads it", closeCode: EXEC_CLOSE.ended }, true);
      return;
    }
    this.touch(x);
    this.flush(x);
  }

  /** Sends queued input within the agent's window; pauses the client while anything is left over. */
  private flush(x: Session): void {
    if (!x.started || x.ended) return;
    while (x.queue.length > 0 && x.inFlight < EXEC_WINDOW_BYTES) {
      const head = x.queue[0] as Buffer;
      const n = Math.min(head.length, EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES - x.inFlight);
      const part = head.subarray(0, n);
      if (n === head.length) x.queue.shift();
      else x.queue[0] = head.subarray(n);
      x.queued -= n;
      x.inFlight += n;
      this.hub.notify(x.nodeId, "exec.input", { session: x.id, data: part.toString("base64") });
    }
    if (x.queue.length > 0) {
      x.client.pauseInput();
      return;
    }
    x.client.resumeInput();
    if (x.eofQueued) {
      this.hub.notify(x.nodeId, "exec.input", { session: x.id, data: "", eof: true });
      x.eofQueued = false;
      x.queue.length = 0;
    }
  }

  private touch(x: Session): void {
    clearTimeout(x.idle);
    x.idle = setTimeout(
      () => this.end(x, { reason: "idle for too long", closeCode: EXEC_CLOSE.idle }, true),
      this.opts.idleTimeoutMs,
    );
    x.idle.unref();
  }

  private end(x: Session, outcome: ExecOutcome, kill: boolean): void {
    if (x.ended) return;
    x.ended = true;
    clearTimeout(x.idle);
    this.sessions.delete(x.id);
    if (kill && x.started) this.hub.notify(x.nodeId, "exec.close", { session: x.id });
    this.s.log.info({ session: x.id, instance: x.instance, ...outcome }, "exec session ended");
    x.client.end(outcome);
  }

  private readonly onAgentFrame = (nodeId: string, f: ExecNotification): void => {
    const x = this.sessions.get(f.params.session);
    // A node speaks only for the sessions this control plane opened on it.
    if (!x || x.nodeId !== nodeId || x.ended) return;
    if (f.method === "exec.output") {
      const data = Buffer.from(f.params.data, "base64");
      this.touch(x);
      x.client.output(f.params.stream, data, () => {
        if (!x.ended && data.length > 0)
          this.hub.notify(nodeId, "exec.outputAck", { session: x.id, bytes: data.length });
      });
    } else if (f.method === "exec.inputAck") {
      x.inFlight = Math.max(0, x.inFlight - f.params.bytes);
      this.flush(x);
    } else {
      const p = f.params;
      this.end(
        x,
        p.exitCode !== undefined
          ? { exitCode: p.exitCode }
          : { reason: p.error ?? "the session failed", closeCode: EXEC_CLOSE.ended },
        false,
      );
    }
  };

  private readonly onNodeDown = (nodeId: string): void => {
    for (const x of this.sessions.values())
      if (x.nodeId === nodeId)
        this.end(x, { reason: "the instance's node disconnected", closeCode: EXEC_CLOSE.ended }, false);
  };

  private readonly onTokenRevoked = (tokenId: string): void => {
    for (const x of this.sessions.values())
      if (x.credential.kind === "token" && x.credential.id === tokenId)
        this.end(x, { reason: "your API token was revoked", closeCode: EXEC_CLOSE.credentialEnded }, true);
  };

  private readonly onSessionEnded = (sessionId: string): void => {
    for (const x of this.sessions.values())
      if (x.credential.kind === "session" && x.credential.id === sessionId)
        this.end(x, { reason: "you were signed out", closeCode: EXEC_CLOSE.credentialEnded }, true);
  };

  private readonly onMembershipChanged = (teamId: string, userId: string): void => {
    this.recheck((x) => x.teamId === teamId && x.actor.userId === userId);
  };

  private readonly onAppChanged = (appId: string): void => {
    this.recheck((x) => x.appId === appId);
  };

  private recheck(filter: (x: Session) => boolean): void {
    this.revalidate(filter).catch((err: unknown) => this.s.log.error({ err }, "re-checking exec sessions failed"));
  }
}
