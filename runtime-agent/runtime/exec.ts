// The only way the agent runs host programs: execFile with an argv array, never a shell, bounded output,
// a timeout, and a minimal environment (no agent secrets leak into child processes).
import { execFile } from "node:child_process";
import { RuntimeError } from "./errors.ts";

/** Environment every child gets unless a caller adds to it. */
export const BASE_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
});

export interface ExecOptions {
  /** Written to the child's stdin, then closed. */
  input?: string;
  /** Added to BASE_ENV. */
  env?: Record<string, string>;
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** BASE_ENV plus `extra`, typed as ProcessEnv (Next's type augmentation makes NODE_ENV required there). */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...BASE_ENV, ...extra } as NodeJS.ProcessEnv;
}

/** Runs `file` with `args`; resolves with its output, rejects with a RuntimeError carrying stderr. */
export function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (!file.startsWith("/"))
    return Promise.reject(new RuntimeError("invalid", `program path must be absolute: ${file}`));
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: childEnv(opts.env),
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: "SIGKILL",
        maxBuffer: 32 * 1024 * 1024,
        encoding: "utf8",
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const detail = (stderr || stdout || err.message).trim().slice(0, 2000);
        const timedOut = (err as { killed?: boolean }).killed === true;
        reject(
          new RuntimeError(timedOut ? "timeout" : "failed", `${file.split("/").pop()} ${args[0] ?? ""}: ${detail}`, {
            cause: Object.assign(err, { stdout, stderr }),
          }),
        );
      },
    );
    child.stdin?.on("error", () => {
      // A child that exits without reading stdin makes the write fail with EPIPE; the exit code reports it.
    });
    child.stdin?.end(opts.input ?? "");
  });
}
