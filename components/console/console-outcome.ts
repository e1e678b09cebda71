// How a console session ended, in words, from the last control frame the exec WebSocket sent and its close code
// (docs/console.md "The WebSocket"). Pure, so the mapping is unit tested without a browser.

/** A text frame of the exec endpoint (server to client). */
export type ExecControlFrame =
  | { type: "started"; instance: string; session: string }
  | { type: "exit"; code: number }
  | { type: "ended"; reason: string }
  | { type: "error"; error: { code: string; message: string } };

/** What the Console tab shows once the socket is closed. */
export interface ConsoleOutcome {
  /** "ended": the session ran and is over; "refused": it never opened (or could not connect). */
  kind: "ended" | "refused";
  title: string;
  message: string;
}

/** Parses a text frame; anything else (not JSON, unknown type) is null and ignored. */
export function parseControlFrame(text: string): ExecControlFrame | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const f = v as Record<string, unknown>;
  if (f.type === "started" && typeof f.instance === "string" && typeof f.session === "string") {
    return { type: "started", instance: f.instance, session: f.session };
  }
  if (f.type === "exit" && typeof f.code === "number") return { type: "exit", code: f.code };
  if (f.type === "ended" && typeof f.reason === "string") return { type: "ended", reason: f.reason };
  if (f.type === "error" && typeof f.error === "object" && f.error !== null) {
    const e = f.error as Record<string, unknown>;
    return {
      type: "error",
      error: {
        code: typeof e.code === "string" ? e.code : "error",
        message: typeof e.message === "string" ? e.message : "",
      },
    };
  }
  return null;
}

/** Refusals when the session could not open: the error code of the `error` frame, or its close code (4000 + status). */
const REFUSED: Record<string, { title: string; message: string }> = {
  forbidden: {
    title: "You cannot open a console",
    message: "Opening a console needs the member role or higher in this app's team.",
  },
  not_found: {
    title: "Instance not found",
    message: "The instance is gone (replaced or scaled down). Pick another one and start a new session.",
  },
  conflict: {
    title: "The instance is not running",
    message: "It stopped or is being replaced. Pick a running instance and start a new session.",
  },
  rate_limited: {
    title: "Too many console sessions",
    message:
      "You have as many sessions open as allowed (in other tabs or with berth ps:exec). Close one and try again.",
  },
  unavailable: {
    title: "The instance's node is not connected",
    message: "Its node agent is offline right now. Try again in a moment.",
  },
};
const REFUSED_BY_CLOSE: Record<number, string> = {
  4403: "forbidden",
  4404: "not_found",
  4409: "conflict",
  4429: "rate_limited",
  4503: "unavailable",
};

/**
 * The outcome of a closed session. `last` is the last control frame received (null if none), `started` whether the
 * process ever ran, `code` the WebSocket close code.
 */
export function describeOutcome(last: ExecControlFrame | null, started: boolean, code: number): ConsoleOutcome {
  if (last?.type === "exit") {
    return { kind: "ended", title: "Session ended", message: `The process exited with code ${last.code}.` };
  }
  if (last?.type === "error" || (!started && REFUSED_BY_CLOSE[code])) {
    const key = last?.type === "error" ? last.error.code : REFUSED_BY_CLOSE[code]!;
    const known = REFUSED[key];
    const serverMessage = last?.type === "error" ? last.error.message : "";
    return {
      kind: "refused",
      title: known?.title ?? "Could not open a console",
      message: known?.message ?? (serverMessage || `Refused (${key}).`),
    };
  }
  if (code === 4401) {
    return {
      kind: "ended",
      title: "Session ended",
      message: "Your sign-in ended (signed out, or the session was revoked). Sign in again to open a console.",
    };
  }
  if (code === 4403)
    return { kind: "ended", title: "Session ended", message: "You no longer have access to this app." };
  if (code === 4408) return { kind: "ended", title: "Session ended", message: "It was idle for too long." };
  if (code === 1012) return { kind: "ended", title: "Session ended", message: "The control plane restarted." };
  if (last?.type === "ended") return { kind: "ended", title: "Session ended", message: `Ended: ${last.reason}.` };
  if (!started) {
    return {
      kind: "refused",
      title: "Could not connect",
      message: "The console connection could not be opened. Check your connection and try again.",
    };
  }
  return { kind: "ended", title: "Connection lost", message: "The connection to the console closed." };
}
