// Failures the CLI reports as one sentence; the exit code tells scripts whether to fix the call (2) or not (1).

/** Exit code for failures reported by (or on the way to) the server. */
export const EXIT_FAILURE = 1;
/** Exit code for a wrong invocation: missing or invalid arguments. */
export const EXIT_USAGE = 2;

/** An error whose message is shown to the user as is, after `berth: `. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** An error answer of the Berth API ({"error":{"code","message"}}). */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message, EXIT_FAILURE);
    this.name = "ApiError";
  }
}

/** A usage error (exit code 2). */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}
