// The one way the server runs external tools (buildah, git, iptables, ip, nsenter, skopeo, umount, prisma):
// an argv array (never a shell string), a timeout that escalates SIGTERM -> SIGKILL, a cap on captured output, and
// errors that carry the tool's name, exit code and the tail of its stderr. Streaming pipes whose output is the
// product (git http-backend, git archive) and long-running children (lib/supervisor.ts, the detached haproxy)
// spawn directly where they are used.
import { spawn } from "node:child_process";
import path from "node:path";

/** A tool ran past its time limit and was stopped. */
export class TimeLimitError extends Error {}

/** A tool printed more than the caller reads; it was stopped. */
export class OutputLimitError extends Error {}

/** A tool exited non-zero (or could not start). `stderr` is its tail, for messages and logs. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly code: number | null,
    readonly stderr: string,
    message: string,
  ) {
    super(message);
  }
  /** The tail of what it printed on stdout (set by runTool/runToolBuffer): some tools report errors there. */
  stdout = "";
}

export interface RunOptions {
  /** Default 60 s. 0: no limit (only for commands bounded otherwise). */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL after the time limit (default 10 s): buildah stops its step container on SIGTERM. */
  killGraceMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The name errors use (default: the command's basename): `buildah` when buildah runs under nsenter. */
  name?: string;
  /** Written to the tool's stdin, which is then closed (a CNI plugin reads its config there); default: no stdin. */
  input?: string | Buffer;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const KILL_GRACE_MS = 10_000;
const STDERR_TAIL = 2000;
/** Captured stdout unless the caller says otherwise. */
const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;

interface Sinks {
  /** Whether the error message quotes stderr (not when every stderr line was already shown to the user). */
  tailInMessage: boolean;
  onStdout: (d: Buffer) => boolean;
  onStderr: (d: Buffer) => void;
}

/** Spawns, applies the limits and settles with the exit; `onStdout` returning false stops the tool (over a cap). */
function supervise(command: string, args: string[], opts: RunOptions, sinks: Sinks): Promise<void> {
  const name = opts.name ?? path.basename(command);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const base = { env: opts.env ?? process.env, cwd: opts.cwd };
    const child =
      opts.input === undefined
        ? spawn(command, args, { ...base, stdio: ["ignore", "pipe", "pipe"] })
        : spawn(command, args, { ...base, stdio: ["pipe", "pipe", "pipe"] });
    if (opts.input !== undefined && child.stdin) {
      // A tool that exits without reading all of it (EPIPE) is judged by its exit code, not this error.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
    let timedOut = false;
    let overflow = false;
    let stderrTail = "";
    let killer: NodeJS.Timeout | undefined;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGTERM");
            killer = setTimeout(() => child.kill("SIGKILL"), opts.killGraceMs ?? KILL_GRACE_MS);
          }, timeoutMs)
        : undefined;
    child.stdout.on("data", (d: Buffer) => {
      if (overflow) return;
      if (!sinks.onStdout(d)) {
        overflow = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-STDERR_TAIL);
      sinks.onStderr(d);
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      clearTimeout(killer);
      reject(new ToolError(name, null, "", `${name} could not start: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const tail = stderrTail.trim();
      if (timedOut) reject(new TimeLimitError(`${name} exceeded the time limit of ${Math.round(timeoutMs / 1000)} s`));
      else if (overflow) reject(new OutputLimitError(`${name} printed more than the limit`));
      else if (code !== 0)
        reject(
          new ToolError(
            name,
            code,
            tail,
            `${name} exited with code ${code}${sinks.tailInMessage && tail ? `: ${tail.slice(-500)}` : ""}`,
          ),
        );
      else resolve();
    });
  });
}

/** Runs a tool to completion and returns its stdout as bytes (at most `maxOutputBytes`, else OutputLimitError). */
export async function runToolBuffer(
  command: string,
  args: string[],
  opts: RunOptions & { maxOutputBytes?: number } = {},
): Promise<Buffer> {
  const max = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const chunks: Buffer[] = [];
  let size = 0;
  const done = supervise(command, args, opts, {
    tailInMessage: true,
    onStdout: (d) => {
      size += d.length;
      if (size > max) return false;
      chunks.push(d);
      return true;
    },
    onStderr: () => undefined,
  });
  try {
    await done;
  } catch (err) {
    if (err instanceof ToolError) err.stdout = Buffer.concat(chunks).toString("utf8").slice(-STDERR_TAIL);
    throw err;
  }
  return Buffer.concat(chunks);
}

/** Runs a tool to completion and returns its stdout as text. */
export async function runTool(
  command: string,
  args: string[],
  opts: RunOptions & { maxOutputBytes?: number } = {},
): Promise<string> {
  return (await runToolBuffer(command, args, opts)).toString("utf8");
}

/**
 * Runs a tool, handing every output line (stdout and stderr) to `onLine` as it comes: build output shown live.
 * Rejects on non-zero exit (ToolError) or timeout (TimeLimitError, after SIGTERM then SIGKILL).
 */
export async function runStreaming(
  command: string,
  args: string[],
  onLine: (line: string) => void,
  opts: RunOptions = {},
): Promise<void> {
  const split = () => {
    let rest = "";
    return (d: Buffer) => {
      rest += d.toString();
      const lines = rest.split(/\r?\n/);
      rest = lines.pop() ?? "";
      lines.forEach(onLine);
    };
  };
  const out = split();
  // Streaming has no default time limit: the callers set the build's own.
  await supervise(
    command,
    args,
    { ...opts, timeoutMs: opts.timeoutMs ?? 0 },
    {
      tailInMessage: false,
      onStdout: (d) => {
        out(d);
        return true;
      },
      onStderr: split(),
    },
  );
}
