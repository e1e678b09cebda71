// Exec sessions on the control plane (`berth ps:exec`, the dashboard console): authorizes and audits a session,
// picks the instance (pick-instance.ts), asks its node's agent to start the process (`instance.exec`), and relays the
// streams between the client socket (exec-socket.ts) and the agent socket with the flow control of
// runtime-agent/protocol/exec.ts. Sessions end when idle, when the process exits, when the node goes away, and when
// the caller loses access (exec-access.ts). The contract with the client side is in exec-types.ts.
import crypto from "node:crypto";
import { EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES } from "../../runtime-agent/protocol/index.ts";
import type { Actor, Services } from "../context.ts";
import { BerthError, errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import type { ExecNotification } from "../nodes/agent-session.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import { requireApp } from "../teams/access.ts";
import type { StreamCredential } from "../ws/stream-auth.ts";
import { ExecAccessGuard } from "./exec-access.ts";
import {
  EXEC_CLOSE,
  type ExecBrokerOptions,
  type ExecClient,
  type ExecHandle,
  type ExecOutcome,
  type ExecSession,
  type ExecStart,
} from "./exec-types.ts";
import { pickExecInstance } from "./pick-instance.ts";

/** Input a client may have queued on the control plane beyond the agent's window before its session ends. */
const MAX_QUEUED_INPUT = 1024 * 1024;

/** Owns every exec session of this control plane. */
export class ExecBroker {
  private readonly sessions = new Map<string, ExecSession>();
  /** Slots held per user by sessions still being prepared (`berth run` waiting for its container). */
  private readonly reservations = new Map<string, number>();
  private readonly access: ExecAccessGuard;

  constructor(
    private readonly s: Services,
    private readonly hub: AgentHub,
    private readonly opts: ExecBrokerOptions,
  ) {
    hub.on("exec", this.onAgentFrame);
    hub.on("down", this.onNodeDown);
    this.access = new ExecAccessGuard(
      s,
      () => this.sessions.values(),
      (x, outcome) => this.end(x, outcome, true),
    );
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
    const instance = await pickExecInstance(this.s, where.id, where.name, req.instance);
    const nodeId = instance.nodeId;
    if (!nodeId || !this.hub.isConnected(nodeId)) throw errors.unavailable("the instance's node is not connected");
    const session: ExecSession = {
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
    this.access.close();
    this.hub.off("exec", this.onAgentFrame);
    this.hub.off("down", this.onNodeDown);
    for (const x of this.sessions.values())
      this.end(x, { reason: "the control plane is restarting", closeCode: 1012 }, true);
  }

  /** Re-checks every session's credential and role now (also runs every REVALIDATE_MS, exec-access.ts). */
  revalidate(): Promise<void> {
    return this.access.revalidate();
  }

  private input(x: ExecSession, data: Buffer): void {
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
  private flush(x: ExecSession): void {
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

  private touch(x: ExecSession): void {
    clearTimeout(x.idle);
    x.idle = setTimeout(
      () => this.end(x, { reason: "idle for too long", closeCode: EXEC_CLOSE.idle }, true),
      this.opts.idleTimeoutMs,
    );
    x.idle.unref();
  }

  private end(x: ExecSession, outcome: ExecOutcome, kill: boolean): void {
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
}
