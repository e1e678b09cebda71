// One error type for the runtime layer, with a code the agent maps to protocol errors and instance events.

export type RuntimeErrorCode = "invalid" | "not_found" | "conflict" | "timeout" | "failed";

/** A runtime failure; `cause` keeps the underlying error (stderr of runc, conmon, buildah, CNI...). */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True if `err` is a RuntimeError with `code`. */
export function isRuntimeError(err: unknown, code?: RuntimeErrorCode): err is RuntimeError {
  return err instanceof RuntimeError && (code === undefined || err.code === code);
}
