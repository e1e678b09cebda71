// Exec sessions (`berth ps:exec`, the dashboard console): a process started inside a running instance, its streams
// multiplexed over the agent socket as notifications keyed by a session id. Data is base64 (binary-safe inside the
// JSON envelope). Flow control is credit-based both ways, so one session can never fill the shared socket or a
// buffer: the agent sends at most EXEC_WINDOW_BYTES of output the control plane has not acknowledged
// (`exec.outputAck`), and the control plane sends at most EXEC_WINDOW_BYTES of input the agent has not written
// (`exec.inputAck`); input past the window ends the session.
import { z } from "zod";
import { CommandArg, InstanceId } from "./names.ts";

/** Unacknowledged bytes either side may have in flight per session. */
export const EXEC_WINDOW_BYTES = 256 * 1024;
/** Largest data chunk in one frame (before base64). */
export const EXEC_CHUNK_BYTES = 32 * 1024;

/** Exec session ids: chosen by the control plane, unique per node connection. */
export const ExecSessionId = z.string().regex(/^[a-z0-9][a-z0-9-]{7,63}$/, { message: "invalid exec session id" });

/** Base64 of at most EXEC_CHUNK_BYTES bytes. */
export const ExecData = z
  .string()
  .max(Math.ceil(EXEC_CHUNK_BYTES / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: "data must be base64" });

/** Terminal size in character cells. */
export const TerminalSize = { cols: z.int().min(1).max(1000), rows: z.int().min(1).max(1000) };

/** Params of `instance.exec` (control plane -> agent): start `command` in the running instance. */
export const ExecParams = z.strictObject({
  session: ExecSessionId,
  instanceId: InstanceId,
  /** argv; the instance's user, env, cwd, capabilities, seccomp and cgroup apply (runc exec defaults). */
  command: z.array(CommandArg).min(1).max(256),
  /** Allocate a pty (stdout and stderr merged, window size applies). */
  tty: z.boolean(),
  ...TerminalSize,
});
export type ExecParams = z.infer<typeof ExecParams>;

/** Result of `instance.exec`: the process started. */
export const ExecStarted = z.strictObject({ session: ExecSessionId });

/** `exec.input` (control plane -> agent): bytes for the process's stdin; `eof` closes it after them. */
export const ExecInput = z.strictObject({ session: ExecSessionId, data: ExecData, eof: z.boolean().default(false) });
/** `exec.resize` (control plane -> agent): the client's terminal changed size. */
export const ExecResize = z.strictObject({ session: ExecSessionId, ...TerminalSize });
/** `exec.close` (control plane -> agent): the client went away or lost access; the process is killed. */
export const ExecClose = z.strictObject({ session: ExecSessionId });
/** `exec.outputAck` (control plane -> agent) and `exec.inputAck` (agent -> control plane): bytes consumed. */
export const ExecAck = z.strictObject({ session: ExecSessionId, bytes: z.int().min(1).max(EXEC_WINDOW_BYTES) });
/** `exec.output` (agent -> control plane): bytes the process wrote. */
export const ExecOutput = z.strictObject({
  session: ExecSessionId,
  stream: z.enum(["stdout", "stderr"]),
  data: ExecData,
});
export type ExecOutput = z.infer<typeof ExecOutput>;
/** `exec.exit` (agent -> control plane): the session is over; exitCode when the process ran, else error. */
export const ExecExit = z.strictObject({
  session: ExecSessionId,
  exitCode: z.int().min(0).max(255).optional(),
  error: z.string().max(1024).optional(),
});
export type ExecExit = z.infer<typeof ExecExit>;
