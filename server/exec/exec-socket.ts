// The exec WebSocket (/api/v1/apps/APP/exec) and the run WebSocket (/api/v1/apps/APP/run, the same protocol in a
// new one-off container: run-session.ts): authenticated like the API on the handshake (bearer token, or the
// session cookie from our own origin), authorized by the exec broker once the socket is open (so the browser and
// the CLI both get the reason in an `error` frame). The wire format is in docs/console.md:
// - client -> server: binary frames are stdin bytes; text frames `{"type":"resize","cols","rows"}`, `{"type":"eof"}`;
// - server -> client: binary frames are output, the first byte naming the stream (1 stdout, 2 stderr); text frames
//   `{"type":"started","instance","session"}` (run: and `release`), `{"type":"exit","code"}` (run: `reason` after
//   --timeout), `{"type":"ended","reason"}`,
//   `{"type":"error","error":{"code","message"}}`, each of the last three followed by the close.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, WebSocketServer, type WebSocket } from "ws";
import { z } from "zod";
import type { Services } from "../context.ts";
import { toErrorResponse } from "../errors.ts";
import { AppName, ProcessType } from "../validation/names.ts";
import { authenticateUpgrade } from "../ws/stream-auth.ts";
import type { ExecBroker } from "./exec-broker.ts";
import { EXEC_CLOSE, type ExecHandle } from "./exec-types.ts";
import { openRun } from "./run-session.ts";

/** `/api/v1/apps/APP/exec` and `/api/v1/apps/APP/run`; APP and the kind are captured. */
export const EXEC_PATH = /^\/api\/v1\/apps\/([^/]+)\/(exec|run)$/;
/** Input a run client may send while its container starts (its socket is read meanwhile, for the heartbeat). */
const MAX_EARLY_INPUT = 1024 * 1024;
const HEARTBEAT_MS = 20_000;

const Query = z
  .object({
    instance: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "invalid instance id")
      .optional(),
    tty: z.enum(["0", "1"]).default("1"),
    cols: z.coerce.number().int().min(1).max(1000).default(80),
    rows: z.coerce.number().int().min(1).max(1000).default(24),
    cmd: z
      .array(
        z
          .string()
          .min(1)
          .max(4096)
          .refine((v) => !v.includes("\0"), "no NUL bytes"),
      )
      .max(64)
      .default([]),
  })
  .strict();

/** The run socket: a command is required (joined and run by the image's shell), no instance, an optional timeout. */
// `client` (addons:psql, addons:redis-cli) replaces the command: the server picks it, so none may be given.
const RunQuery = Query.omit({ instance: true })
  .extend({
    timeout: z.coerce.number().int().min(1).max(86_400).default(3600),
    type: ProcessType.optional(),
    client: z.enum(["psql", "redis-cli"]).optional(),
    addon: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,29}$/, "invalid add-on name")
      .optional(),
  })
  .strict()
  .refine((q) => (q.client ? q.cmd.length === 0 : q.cmd.length > 0), "give a command (cmd), or a client without one")
  .refine((q) => q.addon === undefined || q.client !== undefined, "addon is only for a client");

const ClientFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("resize"), cols: z.int().min(1).max(1000), rows: z.int().min(1).max(1000) }).strict(),
  z.object({ type: z.literal("eof") }).strict(),
]);

const STREAM_BYTE = { stdout: 1, stderr: 2 } as const;

/** True when `url`'s path is the exec endpoint. */
export function isExecPath(url: string): boolean {
  return EXEC_PATH.test(url.split("?")[0] ?? "");
}

function parseRequest(url: string) {
  const u = new URL(url, "http://x");
  const m = EXEC_PATH.exec(u.pathname);
  const app = AppName.safeParse(decodeURIComponent(m?.[1] ?? ""));
  const raw: Record<string, unknown> = {};
  for (const [k, v] of u.searchParams) if (k !== "cmd") raw[k] = v;
  if (u.searchParams.has("cmd")) raw.cmd = u.searchParams.getAll("cmd");
  const run = m?.[2] === "run";
  const q = run ? RunQuery.safeParse(raw) : Query.safeParse(raw);
  if (!app.success) return { ok: false as const, message: "invalid app name" };
  if (!q.success) return { ok: false as const, message: q.error.issues[0]?.message ?? "invalid query" };
  const timeout = "timeout" in q.data ? q.data.timeout : undefined;
  const type = "type" in q.data ? q.data.type : undefined;
  const addonClient = "client" in q.data && q.data.client ? { name: q.data.client, addon: q.data.addon } : undefined;
  return { ok: true as const, app: app.data, run, timeout, type, addonClient, ...q.data };
}

/** Owns the exec WebSocket server; `handleUpgrade` is called by the HTTP server for EXEC_PATH. */
export class ExecSocketServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly heartbeat: NodeJS.Timeout;
  private readonly alive = new WeakMap<WebSocket, boolean>();

  constructor(
    private readonly s: Services,
    /** The control plane's exec broker (built in control-plane.ts): sessions, limits, relaying to agents. */
    readonly broker: ExecBroker,
  ) {
    this.heartbeat = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (this.alive.get(ws) === false) {
          ws.terminate();
          continue;
        }
        this.alive.set(ws, false);
        ws.ping();
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Completes (or refuses with 400/401) a handshake, then opens the session. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const parsed = parseRequest(req.url ?? "");
    if (!parsed.ok) {
      const body = JSON.stringify({ error: { code: "bad_request", message: parsed.message } });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    authenticateUpgrade(this.s, req).then(
      (identity) => {
        if (!identity) {
          socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
          return;
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          this.alive.set(ws, true);
          ws.on("pong", () => this.alive.set(ws, true));
          void this.serve(ws, socket, identity, parsed);
        });
      },
      (err: unknown) => {
        this.s.log.error({ err }, "exec upgrade failed");
        socket.end("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      },
    );
  }

  private async serve(
    ws: WebSocket,
    socket: Duplex,
    identity: NonNullable<Awaited<ReturnType<typeof authenticateUpgrade>>>,
    req: Extract<ReturnType<typeof parseRequest>, { ok: true }>,
  ): Promise<void> {
    let handle: (ExecHandle & { release?: number }) | undefined;
    let closed = false;
    const gone = new AbortController();
    // Input that arrives while the session starts is kept and sent after: bounded by the socket's pause below for
    // exec, by MAX_EARLY_INPUT for run (whose container may take longer to start than the heartbeat waits for a pong).
    const early: Buffer[] = [];
    let earlyBytes = 0;
    if (!req.run) socket.pause();
    ws.on("close", () => {
      closed = true;
      gone.abort();
      handle?.close();
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) {
        if (handle) handle.input(buf);
        else if ((earlyBytes += buf.length) > MAX_EARLY_INPUT)
          ws.close(EXEC_CLOSE.ended, "too much input before start");
        else early.push(buf);
        return;
      }
      let value: unknown;
      try {
        value = JSON.parse(buf.toString("utf8"));
      } catch {
        value = null;
      }
      const f = ClientFrame.safeParse(value);
      if (!f.success || !handle) return;
      if (f.data.type === "resize") handle.resize(f.data.cols, f.data.rows);
      else handle.eof();
    });
    const finish = (frame: object, code: number, reason: string) => {
      if (closed) return;
      closed = true;
      // Reading may be paused (start-up, input backpressure): the close handshake needs the client's answer.
      socket.resume();
      ws.send(JSON.stringify(frame), () => ws.close(code, reason.slice(0, 120)));
    };
    const start = { app: req.app, command: req.cmd, tty: req.tty === "1", cols: req.cols, rows: req.rows };
    try {
      const client: Parameters<ExecBroker["open"]>[3] = {
        output: (stream, data, delivered) => {
          if (closed) return;
          ws.send(Buffer.concat([Buffer.from([STREAM_BYTE[stream]]), data]), { binary: true }, () => delivered());
        },
        pauseInput: () => socket.pause(),
        resumeInput: () => socket.resume(),
        end: (outcome) => {
          if ("exitCode" in outcome)
            finish(
              { type: "exit", code: outcome.exitCode, ...(outcome.reason ? { reason: outcome.reason } : {}) },
              EXEC_CLOSE.exited,
              "exited",
            );
          else finish({ type: "ended", reason: outcome.reason }, outcome.closeCode, outcome.reason);
        },
      };
      handle = req.run
        ? await openRun(
            this.s,
            this.broker,
            identity.actor,
            identity.credential,
            { ...start, timeoutSeconds: req.timeout ?? 3600, type: req.type, client: req.addonClient },
            client,
            gone.signal,
          )
        : await this.broker.open(
            identity.actor,
            identity.credential,
            { ...start, instance: "instance" in req ? req.instance : undefined },
            client,
          );
    } catch (err) {
      const { status, body, unexpected } = toErrorResponse(err);
      if (unexpected) this.s.log.error({ err }, "exec session failed to open");
      finish({ type: "error", ...body }, 4000 + status, body.error.code);
      return;
    }
    if (closed) {
      handle.close();
      return;
    }
    const release = handle.release !== undefined ? { release: handle.release } : {};
    ws.send(JSON.stringify({ type: "started", instance: handle.instance, session: handle.session, ...release }));
    for (const b of early.splice(0)) handle.input(b);
    socket.resume();
  }

  /** Ends every session and stops the heartbeat. */
  close(): void {
    clearInterval(this.heartbeat);
    this.broker.close();
    for (const ws of this.wss.clients) ws.terminate();
  }
}
