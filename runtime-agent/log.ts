// Structured logging for the agent (pino, JSON lines). Components take child loggers with their context.
import { pino, type Logger } from "pino";

export type { Logger };

/** Creates the agent's root logger; `destination` defaults to stdout. */
export function createLogger(
  level = process.env.BERTH_LOG_LEVEL ?? "info",
  destination?: NodeJS.WritableStream,
): Logger {
  return pino(
    {
      level,
      base: { service: "berth-agent" },
      redact: { paths: ["token", "*.token", "env", "*.env"], censor: "[redacted]" },
    },
    destination as pino.DestinationStream | undefined,
  );
}

/** A logger that discards everything (tests, library defaults). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
