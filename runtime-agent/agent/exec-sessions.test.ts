import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../log.ts";
import { EXEC_CHUNK_BYTES, EXEC_WINDOW_BYTES } from "../protocol/exec.ts";
import type { RuntimeBackend } from "../runtime/backend.ts";
import type { ExecOutcome, ExecProcess } from "../runtime/exec-process.ts";
import { RuntimeError } from "../runtime/errors.ts";
import { ExecSessions, execStartError } from "./exec-sessions.ts";

const tick = () => new Promise((r) => setImmediate(r));

function fakeProcess() {
  let finish: (o: ExecOutcome) => void = () => undefined;
  const done = new Promise<ExecOutcome>((r) => (finish = r));
  const written: Buffer[] = [];
  const stdin = new PassThrough();
  stdin.on("data", (d: Buffer) => written.push(d));
  const proc: ExecProcess & { killed: boolean; sizes: string[] } = {
    stdout: new PassThrough(),
    stderr: undefined,
    stdin,
    killed: false,
    sizes: [],
    resize(c, r) {
      this.sizes.push(`${c}x${r}`);
    },
    kill() {
      this.killed = true;
      finish({ exitCode: 137 });
    },
    done,
  };
  return { proc, finish, written };
}

function setup(running = true) {
  const f = fakeProcess();
  const sent: { method: string; params: Record<string, unknown> }[] = [];
  const backend = {
    exec: async (id: string) => {
      if (!running) throw new RuntimeError("conflict", `${id} is not running`);
      return f.proc;
    },
  } as unknown as RuntimeBackend;
  const sessions = new ExecSessions(
    backend,
    (method, params) => {
      sent.push({ method, params: params as Record<string, unknown> });
      return true;
    },
    silentLogger(),
  );
  const start = { session: "sess-0001", instanceId: "web-1", command: ["/bin/sh"], tty: true, cols: 80, rows: 24 };
  return { ...f, sent, sessions, start };
}

describe("ExecSessions", () => {
  it("streams output base64 in chunks, stops reading at the window and resumes on ack", async () => {
    const t = setup();
    await t.sessions.start(t.start);
    const out = t.proc.stdout as PassThrough;
    const big = Buffer.alloc(EXEC_WINDOW_BYTES + 1000, 7);
    out.write(big);
    out.write(Buffer.from("after"));
    await tick();
    const outputs = t.sent.filter((m) => m.method === "exec.output");
    const bytes = outputs.reduce((n, m) => n + Buffer.from(m.params.data as string, "base64").length, 0);
    expect(bytes).toBe(big.length);
    expect(outputs.every((m) => Buffer.from(m.params.data as string, "base64").length <= EXEC_CHUNK_BYTES)).toBe(true);
    // Paused: "after" is not read until the control plane acknowledges.
    expect(out.isPaused()).toBe(true);
    t.sessions.ack("sess-0001", big.length);
    await tick();
    const last = t.sent.filter((m) => m.method === "exec.output").pop();
    expect(Buffer.from(last!.params.data as string, "base64").toString()).toBe("after");
  });

  it("writes input, acknowledges it, resizes, and reports the exit", async () => {
    const t = setup();
    await t.sessions.start(t.start);
    t.sessions.input("sess-0001", Buffer.from([0, 1, 255, 3]).toString("base64"), false);
    t.sessions.resize("sess-0001", 100, 30);
    await tick();
    expect(Buffer.concat(t.written)).toEqual(Buffer.from([0, 1, 255, 3]));
    expect(t.sent).toContainEqual({ method: "exec.inputAck", params: { session: "sess-0001", bytes: 4 } });
    expect(t.proc.sizes).toEqual(["100x30"]);
    t.finish({ exitCode: 3 });
    await tick();
    expect(t.sent).toContainEqual({ method: "exec.exit", params: { session: "sess-0001", exitCode: 3 } });
    expect(t.sessions.size).toBe(0);
  });

  it("ends a session whose peer sends past the input window, and all sessions when the socket goes", async () => {
    const t = setup();
    await t.sessions.start(t.start);
    // Nothing drains stdin (paused PassThrough fills), so the in-flight count only grows.
    t.proc.stdin.removeAllListeners("data");
    const chunk = Buffer.alloc(EXEC_CHUNK_BYTES).toString("base64");
    for (let i = 0; i < EXEC_WINDOW_BYTES / EXEC_CHUNK_BYTES + 1; i++) t.sessions.input("sess-0001", chunk, false);
    expect(t.proc.killed).toBe(true);
    const u = setup();
    await u.sessions.start(u.start);
    u.sessions.closeAll();
    expect(u.proc.killed).toBe(true);
  });

  it("refuses a second session with the same id and a stopped instance", async () => {
    const t = setup();
    await t.sessions.start(t.start);
    await expect(t.sessions.start(t.start)).rejects.toThrow(/in use/);
    const u = setup(false);
    const err = await u.sessions.start(u.start).catch((e: unknown) => e);
    expect(execStartError(err)).toEqual({ code: "conflict", message: "web-1 is not running" });
  });
});
