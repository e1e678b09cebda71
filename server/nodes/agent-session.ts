// One connected agent: every frame zod-parsed with the agent protocol, register -> node id, requests to the agent
// with timeouts, instance events stored.
import type { WebSocket } from "ws";
import {
  encodeError,
  encodeNotification,
  encodeRequest,
  type Frame,
  type NotificationFrame,
  type NotificationMethod,
  type NotificationParamsInput,
  encodeResult,
  type FrameId,
  type InstanceEvent,
  type LogBatch,
  parseFrame,
  parseResult,
  type RequestMethod,
  type RequestParamsInput,
  type RequestResult,
  type ResponseFrame,
  type StatsBatch,
} from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { BerthError } from "../errors.ts";
import { markNodeDown, registerNode } from "./node-registry.ts";

type Pending = {
  method: RequestMethod;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
};

/** Callbacks from a session to the hub that owns it. */
export interface SessionHooks {
  registered: (session: AgentSession) => void;
  closed: (session: AgentSession) => void;
  /** Stores an instance event (in batches with others) and reports it; resolves once stored. */
  event: (session: AgentSession, event: InstanceEvent) => Promise<void>;
  logs: (session: AgentSession, batch: LogBatch) => void;
  stats: (session: AgentSession, batch: StatsBatch) => void;
  /** An exec.* notification from the agent (the exec broker checks that the session is this node's). */
  exec: (session: AgentSession, frame: ExecNotification) => void;
}

/** The exec stream notifications an agent sends. */
export type ExecNotification = Extract<NotificationFrame, { method: "exec.output" | "exec.inputAck" | "exec.exit" }>;

function isExecNotification(f: Frame): f is ExecNotification {
  return (
    f.kind === "notification" &&
    (f.method === "exec.output" || f.method === "exec.inputAck" || f.method === "exec.exit")
  );
}

/** The join token an agent connected with, and where its connection came from. */
export interface SessionAuth {
  tokenId: string;
  /** The token's team (null = shared node). */
  teamId: string | null;
  /** The local agent's token. */
  local: boolean;
  expiresAt: Date | null;
  /** The connection's remote address as this control plane sees it (normalised; "" when unknown). */
  observed: string;
}

/** The server side of one agent connection, authenticated by a join token (`auth`). */
export class AgentSession {
  nodeId: string | undefined;
  /** The Host header of the agent's handshake (validated by the hub). */
  pullHost: string | undefined;
  /** Optional protocol features the agent announced at registration (RegisterParams.features). */
  features: readonly string[] = [];
  /** Set when the node was removed or its token revoked: nothing more from this socket is handled. */
  dropped = false;
  lastHeard = Date.now();
  private nextId = 1;
  private readonly pending = new Map<FrameId, Pending>();
  // Frames are handled one at a time so a node's events are stored in the order they were sent.
  private chain: Promise<void> = Promise.resolve();
  /** Resolves once the last instance event received from this node is stored (see InstanceEventWriter). */
  private eventsStored: Promise<void> = Promise.resolve();

  constructor(
    readonly ws: WebSocket,
    readonly auth: SessionAuth,
    private readonly s: Pick<Services, "db" | "log" | "config">,
    private readonly hooks: SessionHooks,
    private readonly heartbeatMs: number,
  ) {
    ws.on("message", (data: Buffer) => {
      if (this.dropped) return;
      this.lastHeard = Date.now();
      const out = parseFrame(data);
      // Answers to our requests are handled at once: only requests and notifications need ordering, and an
      // acknowledgement must not wait behind thousands of queued instance events (seen at 5,000 instances).
      if (out.ok && (out.frame.kind === "result" || out.frame.kind === "error")) {
        this.onResponse(out.frame);
        return;
      }
      // Exec streams are interactive: keystroke echoes must not queue behind stored events either.
      if (out.ok && isExecNotification(out.frame)) {
        if (this.nodeId) this.hooks.exec(this, out.frame);
        return;
      }
      this.chain = this.chain
        .then(() => this.onMessage(out))
        .catch((err: unknown) => this.s.log.error({ err, node: this.nodeId }, "agent frame failed"));
    });
    ws.on("pong", () => (this.lastHeard = Date.now()));
    ws.on("ping", () => (this.lastHeard = Date.now()));
    ws.on("close", () => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new BerthError("unavailable", "the node disconnected"));
      }
      this.pending.clear();
      this.hooks.closed(this);
    });
    ws.on("error", (err) => this.s.log.warn({ err: err.message, node: this.nodeId }, "agent socket error"));
  }

  /** The join token's team (null = shared node). */
  get teamId(): string | null {
    return this.auth.teamId;
  }

  /** Sends a request to the agent and resolves with its parsed result. */
  request<M extends RequestMethod>(
    method: M,
    params: RequestParamsInput<M>,
    timeoutMs = 30_000,
  ): Promise<RequestResult<M>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BerthError("unavailable", `node did not answer ${method} in time`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.ws.send(encodeRequest(id, method, params));
    });
  }

  /** Sends a notification to the agent (exec streams); false when the socket is not open. */
  notify<M extends NotificationMethod>(method: M, params: NotificationParamsInput<M>): boolean {
    if (this.dropped || this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(encodeNotification(method, params));
    return true;
  }

  private async onMessage(out: ReturnType<typeof parseFrame>): Promise<void> {
    // Frames queued before the node was removed or its token revoked are not handled.
    if (this.dropped) return;
    if (!out.ok) {
      this.s.log.warn({ node: this.nodeId, error: out.error }, "invalid frame from agent");
      if (out.id !== null && out.id !== undefined) this.ws.send(encodeError(out.id, out.error.code, out.error.message));
      return;
    }
    const f = out.frame;
    // Instance events are stored in batches, not one frame at a time (a rollout of 5,000 instances is 10,000 events
    // and more): every other frame is handled after the events that came before it are stored.
    if (f.kind === "notification" && f.method === "instance.event") {
      if (this.nodeId) this.eventsStored = this.hooks.event(this, f.params);
      return;
    }
    await this.eventsStored;
    if (this.dropped) return;
    if (f.kind === "request") {
      if (f.method !== "node.register") {
        this.ws.send(encodeError(f.id, "unknown_method", `${f.method} is not served by the control plane`));
        return;
      }
      if (this.nodeId) {
        this.ws.send(encodeError(f.id, "conflict", "already registered"));
        return;
      }
      try {
        const a = this.auth;
        const node = await registerNode(this.s, { teamId: a.teamId, local: a.local, observed: a.observed }, f.params);
        if (this.dropped) {
          await markNodeDown(this.s.db, node.id); // revoked while registering: it is not connected
          return;
        }
        if (node.unroutable) {
          this.s.log.warn(
            { node: f.params.hostname, observed: a.observed, reported: f.params.address, reason: node.unroutable },
            "node registered but unroutable: no instances are placed on it and the router sends it nothing",
          );
        }
        this.nodeId = node.id;
        this.features = f.params.features ?? [];
        this.ws.send(encodeResult(f.id, "node.register", { nodeId: node.id, heartbeatMs: this.heartbeatMs }));
        this.hooks.registered(this);
      } catch (err) {
        const conflict = err instanceof BerthError && err.code === "conflict";
        this.ws.send(
          encodeError(f.id, conflict ? "conflict" : "internal", conflict ? err.message : "registration failed"),
        );
        if (!conflict) throw err;
      }
      return;
    }
    if (f.kind === "notification") {
      if (!this.nodeId) return;
      if (f.method === "instance.logs") {
        this.hooks.logs(this, f.params);
      } else if (f.method === "node.stats") {
        this.hooks.stats(this, f.params);
      }
      return;
    }
    this.onResponse(f);
  }

  /** Settles the pending request a result or error answers. */
  private onResponse(f: ResponseFrame): void {
    if (f.id === null) return;
    const p = this.pending.get(f.id);
    if (!p) return;
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    if (f.kind === "error") {
      p.reject(
        new BerthError(
          f.error.code === "invalid_params"
            ? "validation_failed"
            : f.error.code === "conflict"
              ? "conflict"
              : "unavailable",
          f.error.message,
        ),
      );
      return;
    }
    const result = parseResult(p.method, f.result);
    if (result.ok) p.resolve(result.value);
    else p.reject(new BerthError("internal", `invalid ${p.method} result from node: ${result.error.message}`));
  }
}
