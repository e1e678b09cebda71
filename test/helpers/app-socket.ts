// A raw exec or run WebSocket session of an app (`/api/v1/apps/{app}/exec` and `/run`), as the CLI and the dashboard
// console open them: collects the output and the text frames and resolves `closed` with the close code. Shared by
// the exec and `berth run` root tests and the cross-team refusals in test/security/.
import WebSocket from "ws";
import { until } from "./until.ts";

export interface AppSocket {
  ws: WebSocket;
  /** Output bytes (stdout and stderr) as text. */
  out: string;
  /** Text frames (started, error, exit, ended), parsed. */
  frames: any[];
  closed: Promise<number>;
}

/**
 * Opens `kind` (exec or run) on `app` with `query` and `token`. With `answerCursorQuery`, answers the shell's
 * cursor-position query like a terminal (busybox ash asks at every prompt and waits for the answer).
 */
export function openAppSocket(
  serverUrl: string,
  kind: "exec" | "run",
  app: string,
  token: string,
  query: string,
  o: { answerCursorQuery?: boolean } = {},
): AppSocket {
  const u = new URL(`${serverUrl.replace("http:", "ws:")}/api/v1/apps/${app}/${kind}?${query}`);
  const ws = new WebSocket(u, { headers: { authorization: `Bearer ${token}` } });
  const s: AppSocket = {
    ws,
    out: "",
    frames: [],
    closed: new Promise<number>((r) => ws.on("close", (code) => r(code))),
  };
  ws.on("message", (d: Buffer, binary) => {
    if (binary) {
      s.out += d.subarray(1).toString("utf8");
      if (o.answerCursorQuery && d.includes("\x1b[6n")) ws.send(Buffer.from("\x1b[1;1R"), { binary: true });
    } else s.frames.push(JSON.parse(d.toString("utf8")));
  });
  ws.on("error", () => undefined);
  return s;
}

/** The session's first text frame (started, or the error it was refused with). */
export const firstFrame = (s: AppSocket, ms: number) =>
  until("session started", async () => s.frames.find((f) => f.type !== undefined), ms);
