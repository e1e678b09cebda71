// One error type with a code; one table from codes to HTTP statuses, translated only at the HTTP boundary.

export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  validation_failed: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A failure the caller can act on: `message` is safe to show to users. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BerthError";
    this.code = code;
  }
  /** HTTP status for this error's code. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** Shorthand constructors keep call sites short and the codes consistent. */
export const errors = {
  badRequest: (m: string) => new BerthError("bad_request", m),
  unauthorized: (m = "authentication required") => new BerthError("unauthorized", m),
  forbidden: (m = "your role does not allow this") => new BerthError("forbidden", m),
  notFound: (what: string) => new BerthError("not_found", `${what} not found`),
  conflict: (m: string) => new BerthError("conflict", m),
  validation: (m: string) => new BerthError("validation_failed", m),
  rateLimited: (m: string) => new BerthError("rate_limited", m),
  unavailable: (m: string) => new BerthError("unavailable", m),
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** What a user sees when a write failed because the data dir's filesystem is full. */
export const DISK_FULL_MESSAGE =
  "the platform's disk is full (no space left in its data dir); nothing was changed: try again once an operator has freed space";

/**
 * Whether `err` (or one of its causes) is a full filesystem: ENOSPC from Node, SQLITE_FULL from the database (whose
 * transaction was rolled back, so the database stays intact) or the same in a child process's message.
 */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "SQLITE_FULL") return true;
    const message = e instanceof Error ? e.message : typeof e === "string" ? e : "";
    if (/SQLITE_FULL|database or disk is full|no space left on device|ENOSPC/i.test(message)) return true;
  }
  return false;
}

/** For best-effort writes (bookkeeping): swallows a full disk, rethrows anything else. */
export function unlessDiskFull(err: unknown): void {
  if (!isDiskFull(err)) throw err;
}

/** Maps any thrown value to a status and a body that leaks nothing about unexpected failures. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  if (!(err instanceof BerthError) && isDiskFull(err)) {
    // Still logged by the caller (unexpected), but the user learns what is wrong instead of "internal error".
    return { status: 503, body: { error: { code: "unavailable", message: DISK_FULL_MESSAGE } }, unexpected: true };
  }
  if (err instanceof BerthError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message } }, unexpected: false };
  }
  return {
    status: 500,
    body: { error: { code: "internal", message: "internal error" } },
    unexpected: true,
  };
}
