// The contract of an exec session between the broker (exec-broker.ts) and its client side (exec-socket.ts,
// run-session.ts, tests): what a client asks for, what it is given, how a session ends, and the broker's own record
// of a session, which the access guard (exec-access.ts) reads too.
import type { Actor } from "../context.ts";
import type { StreamCredential } from "../ws/stream-auth.ts";

/** Close codes the client socket gets (4xxx: do not retry with the same request). */
export const EXEC_CLOSE = {
  exited: 1000,
  credentialEnded: 4401,
  accessEnded: 4403,
  idle: 4408,
  ended: 4410,
} as const;

/** What the client asked for. */
export interface ExecStart {
  app: string;
  /** Instance id; default: the first running web instance, else the first running one. */
  instance?: string | undefined;
  command: string[];
  tty: boolean;
  cols: number;
  rows: number;
  /** The audit event instead of `instance.exec` (`berth run`: `instance.run`). */
  audit?: { action: string; data: Record<string, unknown> } | undefined;
  /** The caller already holds one of the user's slots (reserve()); it is not counted twice. */
  reserved?: boolean | undefined;
  /**
   * The app whose instance runs the session when it is not `app`: an add-on's hidden service app, which no app route
   * reaches; access is authorized (and re-checked) on `app`, the add-on's owner.
   */
  target?: { id: string; name: string } | undefined;
}

/** The client side of a session (the socket in exec-socket.ts, or a test). */
export interface ExecClient {
  /** Output bytes; call `delivered` once they are written out, which gives the agent credit for more. */
  output(stream: "stdout" | "stderr", data: Buffer, delivered: () => void): void;
  /** Stop reading input (the agent's window and our queue are full) / read again. */
  pauseInput(): void;
  resumeInput(): void;
  /** The session is over: the process exited (`exitCode`, `reason` when it was stopped) or it was ended. */
  end(outcome: ExecOutcome): void;
}

/** How a session ended: the process exited (`reason`: why it was stopped, if it was) or the session was ended. */
export type ExecOutcome = { exitCode: number; reason?: string } | { reason: string; closeCode: number };

/** Handle of an open session for the client side. */
export interface ExecHandle {
  session: string;
  instance: string;
  input(data: Buffer): void;
  eof(): void;
  resize(cols: number, rows: number): void;
  /** The client went away: the process is killed. */
  close(): void;
}

/** The broker's record of one open session. */
export interface ExecSession {
  id: string;
  nodeId: string;
  instance: string;
  appId: string;
  appName: string;
  teamId: string;
  actor: Actor;
  credential: StreamCredential;
  client: ExecClient;
  /** Input sent to the agent and not yet written there. */
  inFlight: number;
  queue: Buffer[];
  queued: number;
  eofQueued: boolean;
  started: boolean;
  ended: boolean;
  idle: NodeJS.Timeout | undefined;
}

/** Options (from the server config). */
export interface ExecBrokerOptions {
  idleTimeoutMs: number;
  maxSessionsPerUser: number;
}
