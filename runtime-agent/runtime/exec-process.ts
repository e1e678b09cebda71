// A process started inside a running container with `runc exec`: the container's namespaces and cgroup, and the
// user, env, cwd, capabilities, no_new_privs, seccomp and AppArmor of its config.json process (runc exec's defaults;
// no flag that adds anything is ever passed). With a TTY, runc gets a pty inside the container and hands its master
// to the relay (exec-tty-relay.ts); without one, runc runs in the foreground with our pipes as the process's stdio.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { childEnv } from "./exec.ts";
import { EXEC_TTY_RELAY } from "./exec-tty-relay.ts";
import { checkId } from "./validate.ts";

/** What to run and how. */
export interface ExecOptions {
  runcPath: string;
  runcRoot: string;
  python3Path: string;
  /** Container id (validated again here). */
  id: string;
  command: readonly string[];
  tty: boolean;
  cols: number;
  rows: number;
}

/** How a session ended: the process's exit status (128+N for signal N), or why it could not run. */
export type ExecOutcome = { exitCode: number } | { error: string };

/** A running exec'd process. */
export interface ExecProcess {
  /** Process output (the pty's with a TTY: stdout and stderr merged). */
  readonly stdout: Readable;
  /** Process stderr; absent with a TTY. */
  readonly stderr: Readable | undefined;
  /** Process stdin (the pty's input with a TTY). */
  readonly stdin: Writable;
  /** New window size (TTY only; ignored otherwise). */
  resize(cols: number, rows: number): void;
  /** Kills the process (SIGKILL) if it still runs. */
  kill(): void;
  /** Settles once the session is over and every output byte was emitted. */
  readonly done: Promise<ExecOutcome>;
}

const TERM = "xterm-256color";
const MAX_DIAG = 2048;

function collect(stream: Readable | null | undefined): () => string {
  let text = "";
  stream?.on("data", (d: Buffer) => {
    if (text.length < MAX_DIAG) text += d.toString("utf8");
  });
  return () => text.trim().slice(0, MAX_DIAG);
}

/** Last line of runc's diagnostics, without its logrus prefix. */
function runcError(diag: string): string {
  const line = diag.split("\n").filter(Boolean).pop() ?? "";
  const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line;
  return msg.slice(0, 512) || "runc exec failed";
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once("error", () => resolve(255));
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 255)));
  });
}

function startTty(o: ExecOptions, id: string): ExecProcess {
  const child = spawn(
    o.python3Path,
    [
      "-I",
      "-c",
      EXEC_TTY_RELAY,
      o.runcPath,
      o.runcRoot,
      id,
      String(o.cols),
      String(o.rows),
      "-e",
      `TERM=${TERM}`,
      "--",
      ...o.command,
    ],
    { stdio: ["pipe", "pipe", "pipe", "pipe"], env: childEnv() },
  );
  const ctl = child.stdio[3] as unknown as NodeJS.ReadWriteStream;
  let report = "";
  ctl.on("data", (d: Buffer) => (report += d.toString("utf8")));
  ctl.on("error", () => undefined);
  child.stdin?.on("error", () => undefined);
  const diag = collect(child.stderr);
  const send = (line: string) => {
    if (child.exitCode === null) ctl.write(`${line}\n`);
  };
  const done = Promise.all([exited(child), new Promise((r) => child.stdout?.once("close", r))]).then(
    ([code]): ExecOutcome => {
      const last = report.trim().split("\n").pop() ?? "";
      try {
        const parsed = JSON.parse(last) as { exit?: unknown; error?: unknown };
        if (typeof parsed.exit === "number") return { exitCode: parsed.exit };
        if (typeof parsed.error === "string") return { error: `${parsed.error}: ${runcError(diag())}` };
      } catch {
        // No report: the relay itself failed (python3 missing, killed); its stderr says why.
      }
      return { error: `exec relay failed (status ${code}): ${runcError(diag())}` };
    },
  );
  return {
    stdout: child.stdout as Readable,
    stderr: undefined,
    stdin: child.stdin as Writable,
    resize: (cols, rows) => send(`resize ${Math.trunc(cols)} ${Math.trunc(rows)}`),
    kill: () => send("kill"),
    done,
  };
}

async function startPipes(o: ExecOptions, id: string): Promise<ExecProcess> {
  // The pid file lets kill() reach the process itself: a SIGKILL to a foreground runc would orphan it.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-exec-"));
  const pidFile = path.join(dir, "pid");
  const child = spawn(o.runcPath, ["--root", o.runcRoot, "exec", "--pid-file", pidFile, "--", id, ...o.command], {
    stdio: ["pipe", "pipe", "pipe"],
    env: childEnv(),
  });
  child.stdin.on("error", () => undefined);
  // runc writes its own failures to stderr too; they are kept apart from the process's by their logrus form.
  let diag = "";
  const stderr = child.stderr;
  let killed = false;
  const done = Promise.all([
    exited(child),
    new Promise((r) => child.stdout.once("close", r)),
    new Promise((r) => stderr.once("close", r)),
  ]).then(async ([code]): Promise<ExecOutcome> => {
    const started = await fs.stat(pidFile).then(
      () => true,
      () => false,
    );
    await fs.rm(dir, { recursive: true, force: true });
    if (!started && !killed) return { error: runcError(diag) };
    return { exitCode: code };
  });
  stderr.on("data", (d: Buffer) => {
    const text = d.toString("utf8");
    if (/level=(error|fatal)/.test(text) && diag.length < MAX_DIAG) diag += text;
  });
  return {
    stdout: child.stdout,
    stderr,
    stdin: child.stdin,
    resize: () => undefined,
    kill: () => {
      killed = true;
      void fs
        .readFile(pidFile, "utf8")
        .then((pid) => process.kill(Number(pid.trim()), "SIGKILL"))
        .catch(() => child.kill("SIGKILL"));
    },
    done,
  };
}

/** Starts `o.command` in container `o.id` (which must be running). */
export async function startExec(o: ExecOptions): Promise<ExecProcess> {
  const id = checkId(o.id);
  return o.tty ? startTty(o, id) : startPipes(o, id);
}
