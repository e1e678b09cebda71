// Starts a container through conmon, the per-container monitor CRI-O and podman use: conmon runs `runc create`,
// holds the container's stdio, writes the k8s-file log and the exit code, and outlives the agent.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { RuntimeError } from "./errors.ts";
import { childEnv } from "./exec.ts";

export interface ConmonOptions {
  conmonPath: string;
  runcPath: string;
  /** Global runc args (`--root DIR`). */
  runtimeArgs: string[];
  id: string;
  bundleDir: string;
  /** Container init pid file written by runc. */
  pidFile: string;
  /** conmon's own pid file. */
  conmonPidFile: string;
  logPath: string;
  logSizeMaxBytes: number;
  /** conmon writes `<exitDir>/<id>` with the exit code when the container exits. */
  exitDir: string;
  /** conmon writes `exit` and, on an OOM kill, `oom` here. */
  persistDir: string;
  socketDir: string;
  /** conmon's own stderr goes here (runc create errors end up in the sync message). */
  conmonLogPath: string;
  timeoutMs: number;
}

/** Builds conmon's argv (exported for tests and docs). */
export function conmonArgs(o: ConmonOptions): string[] {
  return [
    "--api-version",
    "1",
    "--cid",
    o.id,
    "--cuuid",
    o.id,
    "--name",
    o.id,
    "--runtime",
    o.runcPath,
    ...o.runtimeArgs.flatMap((a) => ["--runtime-arg", a]),
    "--bundle",
    o.bundleDir,
    "--container-pidfile",
    o.pidFile,
    "--conmon-pidfile",
    o.conmonPidFile,
    "--log-path",
    `k8s-file:${o.logPath}`,
    "--log-size-max",
    String(o.logSizeMaxBytes),
    "--exit-dir",
    o.exitDir,
    "--persist-dir",
    o.persistDir,
    "--socket-dir-path",
    o.socketDir,
    "--log-level",
    "info",
  ];
}

/**
 * Runs conmon, which daemonizes and runs `runc create`; resolves with the container's init pid once conmon reports
 * it on the sync pipe (fd 3), or rejects with runc's error message.
 */
export function startConmon(o: ConmonOptions): Promise<number> {
  const out = fs.openSync(o.conmonLogPath, "a", 0o600);
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    let buffered = "";
    const child = spawn(o.conmonPath, conmonArgs(o), {
      // conmon's daemon child inherits these: nothing that ties it to the agent's lifetime.
      stdio: ["ignore", out, out, "pipe"],
      env: childEnv({ _OCI_SYNCPIPE: "3" }),
      // conmon writes some files (an `oom` marker) relative to its cwd, as CRI-O expects: keep them in the bundle.
      cwd: o.bundleDir,
      detached: true,
    });
    const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
    const finish = (err: Error | null, pid?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sync.destroy();
      child.unref();
      if (err) reject(err);
      else resolve(pid as number);
    };
    const timer = setTimeout(
      () => finish(new RuntimeError("timeout", `conmon did not report ${o.id} created within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    child.on("error", (err) => finish(new RuntimeError("failed", `cannot run conmon: ${err.message}`, { cause: err })));
    sync.setEncoding("utf8");
    sync.on("data", (chunk: string) => {
      buffered += chunk;
      // One JSON object per message: {"data": <pid>} or {"data": -1, "message": "..."}; it may arrive in pieces.
      let msg: { data?: unknown; message?: unknown };
      try {
        msg = JSON.parse(buffered) as typeof msg;
      } catch (err) {
        if (buffered.length > 64 * 1024)
          finish(new RuntimeError("failed", "unreadable conmon sync message", { cause: err }));
        return;
      }
      if (typeof msg.data === "number" && msg.data > 0) finish(null, msg.data);
      else
        finish(
          new RuntimeError(
            "failed",
            `runc create failed: ${String(msg.message ?? "unknown error")
              .trim()
              .slice(0, 2000)}`,
          ),
        );
    });
    sync.on("end", () =>
      finish(new RuntimeError("failed", `conmon exited before reporting ${o.id}; see ${o.conmonLogPath}`)),
    );
    sync.on("error", () => undefined);
  }).finally(() => fs.closeSync(out));
}
