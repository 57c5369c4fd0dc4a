import pino, { type Logger } from "pino";
import type { LogLevel } from "./config.ts";
import { currentRequest } from "./request-scope.ts";

/**
 * JSON lines on stdout; credentials are redacted wherever they appear in a logged object. A line
 * written while a request runs carries its `reqId` and the key's name (`key`): request-scope.ts.
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      mixin: () => currentRequest() ?? {},
      redact: {
        paths: ["password", "*.password", "*.*.password", "authorization", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
