import pino, { type Logger } from "pino";
import type { LogLevel } from "./config.ts";

/** JSON lines on stdout; credentials are redacted wherever they appear in a logged object. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ["password", "*.password", "*.*.password", "authorization", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
