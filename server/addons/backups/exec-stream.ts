// A platform-initiated, non-interactive process inside a running instance (backups: pg_dump, redis-cli --rdb,
// pg_restore), its stdout streamed to a file and its stdin fed from one, over the agent socket with the same exec
// protocol and credit-based flow control as `ps:exec` (runtime-agent/protocol/exec.ts). It is not a user's session:
// no cap, no credential re-checks (the caller authorized the request that started it, or it is the schedule), and
// it never reaches the ExecBroker, which ignores session ids it did not open. stderr is kept (bounded) for the error
// message; it never carries credentials because the commands name only variables.
import crypto from "node:crypto";
import type { Readable, Writable } from "node:stream";
import { EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES } from "../../../runtime-agent/protocol/index.ts";
import type { AgentHub } from "../../nodes/agent-hub.ts";
import type { ExecNotification } from "../../nodes/agent-session.ts";

/** How much stderr is kept for the error message. */
const MAX_STDERR = 4096;

/** What ran: the exit code, and the tail of stderr. */
export interface ExecResult {
  exitCode: number;
  stderr: string;
}

/** What to run where. */
export interface StreamExec {
  nodeId: string;
  /** The instance to exec in, with `command`; ignored when `volume` is set. */
  instanceId?: string;
  /** argv (e.g. ["/bin/sh", "-c", FIXED_SCRIPT]); never carries credentials. */
  command?: string[];
  /** Instead of an exec: the agent's tar over a volume (volume.archive / volume.extract, server/volumes/backups.ts). */
  volume?: { direction: "archive" | "extract"; id: string; team: string };
  /** Receives stdout (backpressure respected: output is acknowledged only once written). */
  stdout?: Writable | undefined;
  /** Fed to stdin, then EOF; without it stdin gets EOF at once. */
  stdin?: Readable | undefined;
  /** The process is killed after this long. */
  timeoutMs: number;
}

/** Runs the command to its end; rejects when the node refuses, disconnects or the time is up. */
export function execStream(hub: AgentHub, req: StreamExec): Promise<ExecResult> {
  const session = `bk${crypto.randomBytes(12).toString("hex")}`;
  return new Promise<ExecResult>((resolve, reject) => {
    let stderr = "";
    let done = false;
    let inFlight = 0;
    let inputEnded = false;
    const pending: Buffer[] = [];
    let writeChain: Promise<void> = Promise.resolve();

    const finish = (err: Error | null, result?: ExecResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      hub.off("exec", onFrame);
      hub.off("down", onDown);
      req.stdin?.off("data", onInput);
      req.stdin?.off("end", onInputEnd);
      if (err) {
        hub.notify(req.nodeId, "exec.close", { session });
        reject(err);
      } else {
        // Output written before the exit frame must be on disk before the caller looks at the file.
        writeChain.then(() => resolve(result!), reject);
      }
    };

    const sendInput = () => {
      while (pending.length > 0 && inFlight < EXEC_WINDOW_BYTES) {
        const head = pending[0]!;
        const n = Math.min(head.length, EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES - inFlight);
        if (n === head.length) pending.shift();
        else pending[0] = head.subarray(n);
        inFlight += n;
        hub.notify(req.nodeId, "exec.input", { session, data: head.subarray(0, n).toString("base64") });
      }
      if (pending.length > 0) {
        req.stdin?.pause();
        return;
      }
      if (inputEnded) {
        hub.notify(req.nodeId, "exec.input", { session, data: "", eof: true });
        inputEnded = false;
        return;
      }
      req.stdin?.resume();
    };
    const onInput = (chunk: Buffer) => {
      pending.push(chunk);
      sendInput();
    };
    const onInputEnd = () => {
      inputEnded = true;
      sendInput();
    };

    const onFrame = (nodeId: string, f: ExecNotification) => {
      if (nodeId !== req.nodeId || f.params.session !== session || done) return;
      if (f.method === "exec.output") {
        const data = Buffer.from(f.params.data, "base64");
        if (f.params.stream === "stderr") {
          stderr = (stderr + data.toString("utf8")).slice(-MAX_STDERR);
          if (data.length > 0) hub.notify(nodeId, "exec.outputAck", { session, bytes: data.length });
          return;
        }
        const out = req.stdout;
        writeChain = writeChain.then(
          () =>
            new Promise<void>((res, rej) => {
              if (!out) return res();
              out.write(data, (err) => (err ? rej(err) : res()));
            }),
        );
        writeChain.then(
          () => {
            if (!done && data.length > 0) hub.notify(nodeId, "exec.outputAck", { session, bytes: data.length });
          },
          (err: unknown) => finish(err instanceof Error ? err : new Error(String(err))),
        );
      } else if (f.method === "exec.inputAck") {
        inFlight = Math.max(0, inFlight - f.params.bytes);
        sendInput();
      } else if (f.params.exitCode !== undefined) {
        finish(null, { exitCode: f.params.exitCode, stderr: stderr.trim() });
      } else {
        finish(new Error(f.params.error ?? "the process could not run"));
      }
    };
    const onDown = (nodeId: string) => {
      if (nodeId === req.nodeId)
        finish(new Error(req.volume ? "the volume's node disconnected" : "the add-on's node disconnected"));
    };
    const timer = setTimeout(
      () => finish(new Error(`did not finish within ${Math.round(req.timeoutMs / 1000)} s`)),
      req.timeoutMs,
    );
    timer.unref();

    hub.on("exec", onFrame);
    hub.on("down", onDown);
    const v = req.volume;
    const started = v
      ? hub.request(req.nodeId, v.direction === "archive" ? "volume.archive" : "volume.extract", {
          session,
          id: v.id,
          team: v.team,
        })
      : hub.request(req.nodeId, "instance.exec", {
          session,
          instanceId: req.instanceId ?? "",
          command: req.command ?? [],
          tty: false,
          cols: 80,
          rows: 24,
        });
    started
      .then(() => {
        if (done) return;
        if (req.stdin) {
          req.stdin.on("data", onInput);
          req.stdin.on("end", onInputEnd);
          req.stdin.on("error", (err) => finish(err));
        } else {
          inputEnded = true;
          sendInput();
        }
      })
      .catch((err: unknown) => finish(err instanceof Error ? err : new Error(String(err))));
  });
}
