// The client side of an exec-protocol WebSocket (`berth ps:exec`, interactive `berth run`; wire format in
// docs/console.md). With a terminal: raw mode (Ctrl-C, Ctrl-D and every other key go to the remote side), the
// window size and its changes; without one, stdin and stdout/stderr are piped (end of input closes the remote stdin).
// Resolves with the remote exit code.
import type WebSocket from "ws";
import { ApiError, CliError } from "../errors.ts";
import { clean, note } from "../output.ts";

/** Server text frames. */
export type ServerFrame =
  | { type: "started"; instance: string; session: string; release?: number }
  | { type: "exit"; code: number; reason?: string }
  | { type: "ended"; reason: string }
  | { type: "error"; error: { code: string; message: string } };

/** True when both stdin and stdout are terminals (a pty on the remote side makes sense). */
export function localTerminal(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/** The local window size (80x24 when stdout is no terminal). */
export function terminalSize(): { cols: number; rows: number } {
  return { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 };
}

/** Runs one session on `url`; `onStarted` is called with the `started` frame before local input is read. */
export async function runSocketSession(
  url: URL,
  target: { url: string; token: string | null },
  o: { tty: boolean; onStarted: (f: Extract<ServerFrame, { type: "started" }>) => void },
): Promise<number> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const { tty } = o;
  // Loaded here: only these commands need a WebSocket, and every other command starts faster without it.
  const WebSocketClass = (await import("ws")).default;
  const ws: WebSocket = new WebSocketClass(url, {
    headers: { authorization: `Bearer ${target.token ?? ""}` },
    maxPayload: 1024 * 1024,
  });
  const code = await new Promise<number>((resolve, reject) => {
    let outcome: number | Error | undefined;
    let raw = false;
    const restore = () => {
      if (raw) stdin.setRawMode(false);
      raw = false;
      stdin.pause();
      stdin.off("data", onInput);
      stdin.off("end", onEnd);
      stdout.off("resize", onResize);
    };
    const onInput = (d: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(d, { binary: true });
      // Backpressure: stop reading local input while the socket has a lot queued.
      if (ws.bufferedAmount > 1024 * 1024) {
        stdin.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            stdin.resume();
          }
        }, 20);
      }
    };
    const onEnd = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "eof" }));
    };
    const onResize = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "resize", ...terminalSize() }));
    };
    ws.on("unexpected-response", (_req, res) => {
      ws.terminate();
      outcome = new ApiError(
        res.statusCode === 401
          ? `not logged in to ${target.url} (token rejected)`
          : `Berth answered HTTP ${res.statusCode}`,
        res.statusCode ?? 0,
        "",
      );
    });
    ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) {
        const out = buf[0] === 2 ? process.stderr : stdout;
        if (!out.write(buf.subarray(1))) {
          // The terminal or pipe is slower than the instance: stop reading the socket until it drains.
          ws.pause();
          out.once("drain", () => ws.resume());
        }
        return;
      }
      let f: ServerFrame;
      try {
        f = JSON.parse(buf.toString("utf8")) as ServerFrame;
      } catch {
        return;
      }
      if (f.type === "started") {
        o.onStarted(f);
        if (tty) {
          stdin.setRawMode(true);
          raw = true;
        }
        stdin.on("data", onInput);
        stdin.on("end", onEnd);
        stdout.on("resize", onResize);
        stdin.resume();
      } else if (f.type === "exit") {
        if (f.reason) note(`exited with code ${f.code}: ${clean(f.reason)}`);
        outcome = f.code;
      } else if (f.type === "ended") {
        outcome = new CliError(`session ended: ${clean(f.reason)}`);
      } else if (f.type === "error") {
        outcome = new ApiError(clean(f.error.message), 0, f.error.code);
      }
    });
    ws.on("error", (err) => {
      outcome ??= new CliError(`cannot reach ${target.url}: ${clean(err.message)}`);
    });
    ws.on("close", () => {
      restore();
      if (typeof outcome === "number") resolve(outcome);
      else reject(outcome ?? new CliError("the connection ended before the command finished"));
    });
  });
  return code;
}
