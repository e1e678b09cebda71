// The agent's one WebSocket to the control plane: join-token auth, register, answer requests, stream notifications,
// ping/pong both ways with terminate on silence, and reconnect with jittered exponential backoff.
import type { Logger } from "pino";
import WebSocket from "ws";
import type { DesiredState } from "../protocol/desired-state.ts";
import type { ExecParams } from "../protocol/exec.ts";
import { encodeError, encodeNotification, encodeRequest, encodeResult } from "../protocol/encode.ts";
import type {
  NotificationMethod,
  NotificationParamsInput,
  ObservedInstance,
  VolumeStreamParams,
  VolumeUsage,
} from "../protocol/methods.ts";
import { type NotificationFrame, parseFrame, parseResult } from "../protocol/parse.ts";
import type { RegisterParams, RegisterResult } from "../protocol/register.ts";
import { RuntimeError } from "../runtime/errors.ts";
import { reconnectDelayMs } from "./backoff.ts";

/** Path of the agent endpoint on the control plane. */
export const AGENT_PATH = "/api/v1/agent";
const MAX_QUEUED = 10_000;

/** What the connection calls into. */
export interface ConnectionHandlers {
  register: () => Promise<RegisterParams>;
  registered: (result: RegisterResult) => void;
  applyDesiredState: (state: DesiredState) => Promise<{ generation: number; changed: boolean }>;
  observedState: () => ObservedInstance[];
  /** The node's volumes; absent when the backend has none (answered `unknown_method`). */
  volumes?: {
    list: () => Promise<VolumeUsage[]>;
    destroy: (id: string) => Promise<boolean>;
    /** Starts a volume.archive/volume.extract session (absent: unknown_method). */
    stream?: (direction: "archive" | "extract", params: VolumeStreamParams) => Promise<void>;
  };
  /** Exec sessions (absent: the agent refuses `instance.exec`). */
  exec?: ExecHandlers;
}

/** What the connection calls for exec sessions (agent/exec-sessions.ts). */
export interface ExecHandlers {
  start: (params: ExecParams) => Promise<void>;
  input: (session: string, data: string, eof: boolean) => void;
  resize: (session: string, cols: number, rows: number) => void;
  ack: (session: string, bytes: number) => void;
  close: (session: string) => void;
  /** The socket closed: sessions opened on it end. */
  disconnected: () => void;
  /** Protocol error for a failed start. */
  startError: (err: unknown) => { code: "conflict" | "invalid_params" | "internal"; message: string };
}

/** Options of the connection. */
export interface ConnectionOptions {
  /** Control-plane base URL (http[s]:// or ws[s]://). */
  url: string;
  token: string;
  handlers: ConnectionHandlers;
  log: Logger;
  /** Ping interval before the control plane tells us its own. */
  heartbeatMs?: number;
  random?: () => number;
}

/** Builds the agent endpoint's ws:// URL from the control-plane base URL. */
export function agentUrl(base: string): string {
  const u = new URL(base);
  u.protocol = u.protocol === "https:" || u.protocol === "wss:" ? "wss:" : "ws:";
  u.pathname = AGENT_PATH;
  u.search = "";
  return u.toString();
}

/** A self-healing connection; `start()` once, `close()` to stop for good. */
export class AgentConnection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stopped = false;
  private registered = false;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private heartbeatMs: number;
  private readonly queue: string[] = [];

  constructor(private readonly opts: ConnectionOptions) {
    this.heartbeatMs = opts.heartbeatMs ?? 10_000;
  }

  /** True once the control plane accepted `node.register` on the current socket. */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** Opens the first connection. */
  start(): void {
    this.connect();
  }

  /** Closes the socket and stops reconnecting. */
  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.ws?.terminate();
  }

  /** Sends a notification now, or queues it (bounded, oldest dropped) until the next registration. */
  notify<M extends NotificationMethod>(method: M, params: NotificationParamsInput<M>): void {
    const frame = encodeNotification(method, params);
    if (this.registered && this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(frame);
      return;
    }
    this.queue.push(frame);
    if (this.queue.length > MAX_QUEUED) this.queue.shift();
  }

  /** Sends a notification on the current registered socket, never queued (exec streams); false when not sent. */
  sendNow<M extends NotificationMethod>(method: M, params: NotificationParamsInput<M>): boolean {
    if (!this.registered || this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeNotification(method, params));
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(agentUrl(this.opts.url), {
      headers: { authorization: `Bearer ${this.opts.token}` },
      handshakeTimeout: 10_000,
      maxPayload: 8 * 1024 * 1024,
    });
    this.ws = ws;
    this.registered = false;
    ws.on("open", () => {
      this.lastHeard = Date.now();
      this.startHeartbeat(ws);
      this.sendRegister(ws).catch((err: unknown) => {
        this.opts.log.error({ err }, "registration failed");
        ws.terminate();
      });
    });
    ws.on("message", (data: WebSocket.RawData) => {
      this.lastHeard = Date.now();
      this.onMessage(ws, data as Buffer);
    });
    ws.on("ping", () => (this.lastHeard = Date.now()));
    ws.on("pong", () => (this.lastHeard = Date.now()));
    ws.on("unexpected-response", (_req, res) => {
      this.opts.log.error({ status: res.statusCode }, "control plane refused the agent (check the join token)");
      ws.terminate();
    });
    ws.on("error", (err) => this.opts.log.warn({ err: err.message }, "control plane connection error"));
    ws.on("close", () => this.onClose(ws));
  }

  private onClose(ws: WebSocket): void {
    if (this.ws !== ws) return;
    clearInterval(this.heartbeat);
    this.registered = false;
    this.opts.handlers.exec?.disconnected();
    if (this.stopped) return;
    const delay = reconnectDelayMs(this.attempt++, (this.opts.random ?? Math.random)());
    this.opts.log.info({ delayMs: delay, attempt: this.attempt }, "disconnected from the control plane; reconnecting");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private startHeartbeat(ws: WebSocket): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      // Two missed heartbeats: the peer (or the path to it) is gone even if TCP has not noticed.
      if (Date.now() - this.lastHeard > 2 * this.heartbeatMs) {
        this.opts.log.warn("control plane silent; dropping the connection");
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private registerId = "register";

  private async sendRegister(ws: WebSocket): Promise<void> {
    const params = await this.opts.handlers.register();
    this.registerId = `register-${Date.now()}`;
    ws.send(encodeRequest(this.registerId, "node.register", params));
  }

  private onRegistered(ws: WebSocket, result: unknown): void {
    const parsed = parseResult("node.register", result);
    if (!parsed.ok) {
      this.opts.log.error({ error: parsed.error }, "invalid register result");
      ws.terminate();
      return;
    }
    this.registered = true;
    this.attempt = 0;
    this.heartbeatMs = parsed.value.heartbeatMs;
    this.startHeartbeat(ws);
    this.opts.log.info({ nodeId: parsed.value.nodeId }, "registered with the control plane");
    this.opts.handlers.registered(parsed.value);
    for (const frame of this.queue.splice(0)) ws.send(frame);
  }

  private onMessage(ws: WebSocket, data: Buffer): void {
    const out = parseFrame(data);
    if (!out.ok) {
      if (out.id !== undefined) ws.send(encodeError(out.id, out.error.code, out.error.message));
      this.opts.log.warn({ error: out.error }, "invalid frame from the control plane");
      return;
    }
    const f = out.frame;
    if (f.kind === "result" && f.id === this.registerId) return this.onRegistered(ws, f.result);
    if (f.kind === "error" && f.id === this.registerId) {
      this.opts.log.error({ error: f.error }, "control plane rejected the registration");
      ws.close(4000, "registration rejected");
      return;
    }
    if (f.kind === "notification" && f.method === "node.reconnect") {
      this.attempt = 0;
      ws.terminate();
      return;
    }
    if (f.kind === "notification") return this.onExecNotification(f);
    if (f.kind !== "request") return;
    if (!this.registered) {
      ws.send(encodeError(f.id, "unavailable", "not registered yet"));
      return;
    }
    if (f.method === "node.applyDesiredState") {
      this.opts.handlers
        .applyDesiredState(f.params)
        .then((r) => ws.send(encodeResult(f.id, "node.applyDesiredState", r)))
        .catch((err: unknown) => ws.send(encodeError(f.id, "internal", err instanceof Error ? err.message : "failed")));
    } else if (f.method === "instance.exec" && this.opts.handlers.exec) {
      const exec = this.opts.handlers.exec;
      exec
        .start(f.params)
        .then(() => ws.send(encodeResult(f.id, "instance.exec", { session: f.params.session })))
        .catch((err: unknown) => {
          const e = exec.startError(err);
          ws.send(encodeError(f.id, e.code, e.message));
        });
    } else if (f.method === "node.observedState") {
      ws.send(encodeResult(f.id, "node.observedState", { instances: this.opts.handlers.observedState() }));
    } else if (f.method === "volume.list" && this.opts.handlers.volumes) {
      this.opts.handlers.volumes
        .list()
        .then((volumes) => ws.send(encodeResult(f.id, "volume.list", { volumes })))
        .catch((err: unknown) => ws.send(encodeError(f.id, "internal", err instanceof Error ? err.message : "failed")));
    } else if (
      (f.method === "volume.archive" || f.method === "volume.extract") &&
      this.opts.handlers.volumes?.stream &&
      this.opts.handlers.exec
    ) {
      const exec = this.opts.handlers.exec;
      const method = f.method;
      this.opts.handlers.volumes
        .stream(method === "volume.archive" ? "archive" : "extract", f.params)
        .then(() => ws.send(encodeResult(f.id, method, { session: f.params.session })))
        .catch((err: unknown) => {
          const e = exec.startError(err);
          ws.send(encodeError(f.id, e.code, e.message));
        });
    } else if (f.method === "volume.destroy" && this.opts.handlers.volumes) {
      this.opts.handlers.volumes
        .destroy(f.params.id)
        .then((existed) => ws.send(encodeResult(f.id, "volume.destroy", { existed })))
        .catch((err: unknown) =>
          ws.send(
            encodeError(
              f.id,
              err instanceof RuntimeError && err.code === "conflict" ? "conflict" : "internal",
              err instanceof Error ? err.message : "failed",
            ),
          ),
        );
    } else {
      ws.send(encodeError(f.id, "unknown_method", `${f.method} is not served by the agent`));
    }
  }

  private onExecNotification(f: NotificationFrame): void {
    const exec = this.opts.handlers.exec;
    if (!exec || !this.registered) return;
    if (f.method === "exec.input") exec.input(f.params.session, f.params.data, f.params.eof);
    else if (f.method === "exec.resize") exec.resize(f.params.session, f.params.cols, f.params.rows);
    else if (f.method === "exec.outputAck") exec.ack(f.params.session, f.params.bytes);
    else if (f.method === "exec.close") exec.close(f.params.session);
  }
}
