// Refusals of the pipeline's transport stages are logged with the key's name (never the key),
// the code and the peer address, at most one line per code and key a second: a flood of refused
// requests must not turn into a flood of log lines.
import type { GraphQLError } from "graphql";
import type { Logger } from "pino";

export interface RefusalDetail {
  transport: "http" | "ws";
  /** The key's name, when the key was recognised. */
  key?: string | undefined;
  remote?: string | undefined;
}

export type RefusalLog = (error: GraphQLError, detail: RefusalDetail) => void;

export function createRefusalLog(log: Logger, intervalMs = 1_000, now = () => Date.now()): RefusalLog {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (error, detail) => {
    const code = String(error.extensions.code ?? "");
    const id = `${code}|${detail.key ?? ""}`;
    const t = now();
    const seen = last.get(id);
    if (seen && t - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    if (last.size > 10_000) last.clear(); // keys are configured; codes are few
    last.set(id, { at: t, suppressed: 0 });
    log.warn({ code, ...detail, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, error.message);
  };
}
