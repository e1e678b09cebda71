// Structured JSON logging (pino). Components take child loggers carrying their context.
import { pino, type Logger } from "pino";

export type { Logger };

/** Creates the root logger; secrets are redacted wherever they might appear in logged objects. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "berth" },
      redact: {
        paths: [
          "password",
          "*.password",
          "token",
          "*.token",
          "req.headers.authorization",
          "req.headers.cookie",
          "headers.authorization",
          "headers.cookie",
        ],
        censor: "[redacted]",
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}
