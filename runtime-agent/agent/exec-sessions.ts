// The agent's exec sessions: each one a process in a running instance (RuntimeBackend.exec) whose streams travel as
// exec.* notifications on the control-plane socket. Flow control (protocol/exec.ts): output is read from the process
// only while less than EXEC_WINDOW_BYTES are unacknowledged, so a slow client stops the process (it blocks on a full
// pipe or pty) instead of filling memory; input is bounded the same way, and a peer that sends more than the window
// ends its session. Sessions do not outlive the socket they were opened on.
import type { Readable } from "node:stream";
import type { Logger } from "pino";
import { EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES, type ExecParams } from "../protocol/exec.ts";
import type { NotificationMethod, NotificationParamsInput } from "../protocol/methods.ts";
import type { RuntimeBackend } from "../runtime/backend.ts";
import type { ExecProcess } from "../runtime/exec-process.ts";
import { isRuntimeError, RuntimeError } from "../runtime/errors.ts";

/** Most sessions one node runs at once (the control plane caps per user; this caps the node). */
export const MAX_EXEC_SESSIONS = 64;

/** Sends a notification on the current socket only; false when it is not connected (nothing is queued). */
export type ExecSink = <M extends NotificationMethod>(method: M, params: NotificationParamsInput<M>) => boolean;

interface Session {
  id: string;
  proc: ExecProcess;
  /** Output bytes sent and not yet acknowledged. */
  unacked: number;
  /** Input bytes received and not yet written to the process. */
  inFlight: number;
  paused: Set<Readable>;
  eofPending: boolean;
  closed: boolean;
}

/** Every exec session of this agent. */
export class ExecSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly backend: RuntimeBackend,
    private readonly send: ExecSink,
    private readonly log: Logger,
  ) {}

  /** Number of live sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** Starts a session; throws RuntimeError (conflict: not running or too many; invalid: no exec support). */
  async start(p: ExecParams): Promise<void> {
    const exec = this.backend.exec?.bind(this.backend);
    if (!exec) throw new RuntimeError("invalid", "this node's runtime does not support exec");
    await this.startWith(p.session, { instance: p.instanceId, tty: p.tty }, () =>
      exec(p.instanceId, { command: p.command, tty: p.tty, cols: p.cols, rows: p.rows }),
    );
  }

  /**
   * Starts a session around any process (volume.archive/volume.extract: a host tar over a volume), with the same
   * streams, flow control and limits as an exec in an instance.
   */
  async startWith(session: string, what: Record<string, unknown>, spawn: () => Promise<ExecProcess>): Promise<void> {
    if (this.sessions.has(session)) throw new RuntimeError("conflict", "exec session id in use");
    if (this.sessions.size >= MAX_EXEC_SESSIONS)
      throw new RuntimeError("conflict", "too many exec sessions on this node");
    const proc = await spawn();
    const s: Session = {
      id: session,
      proc,
      unacked: 0,
      inFlight: 0,
      paused: new Set(),
      eofPending: false,
      closed: false,
    };
    this.sessions.set(s.id, s);
    this.log.info({ session: s.id, ...what }, "exec session started");
    this.pipeOut(s, proc.stdout, "stdout");
    if (proc.stderr) this.pipeOut(s, proc.stderr, "stderr");
    void proc.done.then((outcome) => {
      this.sessions.delete(s.id);
      s.closed = true;
      this.log.info({ session: s.id, ...outcome }, "exec session ended");
      this.send("exec.exit", { session: s.id, ...outcome });
    });
  }

  /** Bytes for a session's stdin (base64); past the window the session is ended. */
  input(session: string, data: string, eof: boolean): void {
    const s = this.sessions.get(session);
    if (!s || s.closed) return;
    const buf = Buffer.from(data, "base64");
    if (s.inFlight + buf.length > EXEC_WINDOW_BYTES) {
      this.log.warn({ session }, "exec input past the flow-control window; ending the session");
      this.end(s);
      return;
    }
    if (buf.length > 0) {
      s.inFlight += buf.length;
      s.proc.stdin.write(buf, () => {
        s.inFlight -= buf.length;
        if (!s.closed) this.send("exec.inputAck", { session, bytes: buf.length });
      });
    }
    if (eof) s.proc.stdin.end();
  }

  /** New terminal size of a session. */
  resize(session: string, cols: number, rows: number): void {
    this.sessions.get(session)?.proc.resize(cols, rows);
  }

  /** Output the control plane delivered: reading resumes once the window has room again. */
  ack(session: string, bytes: number): void {
    const s = this.sessions.get(session);
    if (!s) return;
    s.unacked = Math.max(0, s.unacked - bytes);
    if (s.unacked < EXEC_WINDOW_BYTES) {
      for (const r of s.paused) r.resume();
      s.paused.clear();
    }
  }

  /** Ends one session (the client went away or lost access). */
  close(session: string): void {
    const s = this.sessions.get(session);
    if (s) this.end(s);
  }

  /** Ends every session: the socket they were opened on is gone, and with it whoever was attached. */
  closeAll(): void {
    for (const s of this.sessions.values()) this.end(s);
  }

  private end(s: Session): void {
    s.proc.kill();
    s.proc.stdin.destroy();
  }

  private pipeOut(s: Session, stream: Readable, name: "stdout" | "stderr"): void {
    stream.on("data", (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i += EXEC_CHUNK_BYTES) {
        const part = chunk.subarray(i, i + EXEC_CHUNK_BYTES);
        s.unacked += part.length;
        if (!this.send("exec.output", { session: s.id, stream: name, data: part.toString("base64") })) this.end(s);
      }
      if (s.unacked >= EXEC_WINDOW_BYTES) {
        stream.pause();
        s.paused.add(stream);
      }
    });
    stream.on("error", () => undefined);
  }
}

/** Maps a failed start to a protocol error code and message. */
export function execStartError(err: unknown): { code: "conflict" | "invalid_params" | "internal"; message: string } {
  if (isRuntimeError(err, "conflict")) return { code: "conflict", message: err.message };
  if (isRuntimeError(err, "invalid")) return { code: "invalid_params", message: err.message };
  return { code: "internal", message: err instanceof Error ? err.message.slice(0, 512) : "exec failed" };
}
