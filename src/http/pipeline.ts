// The parts of the request pipeline (docs/security.md) that live in Yoga's envelop: stages 5 to
// 9 as plugins, and the parse and validation caches. The main Yoga (app.ts) and the write
// workers' (src/ingest/write-worker.ts) are made with the same options, so that an operation
// is checked the same way on whichever thread runs it.
import type { DocumentNode } from "graphql";
import type { Logger } from "pino";
import { STATISTICS_ROOT_FIELDS } from "../analytics/response-cache.ts";
import type { RequestLimits } from "../config.ts";
import { type Context, createContext, type Services } from "../context.ts";
import { useOperationGuard, WRITE_MUTATIONS } from "../guard/operation.ts";
import { createParseCache } from "../guard/parse-cache.ts";
import { useCompiledStatistics } from "./compiled-statistics.ts";
import { useInputErrors } from "./input-errors.ts";
import type { OperationLog } from "./operation-log.ts";

export interface PipelineOptions {
  limits: RequestLimits;
  writerCanRead: boolean;
  production: boolean;
}

/**
 * Yoga options shared by every Yoga the API makes: error masking, caches, a fresh context (and
 * fresh DataLoaders) per request, logging through pino, the guard plugins, and `operations`
 * (src/http/operation-log.ts), where every operation's end is logged and counted.
 */
export function pipelineYogaOptions(
  options: PipelineOptions,
  services: Services,
  log: Logger,
  operations: OperationLog,
) {
  return {
    context: (): Context => createContext(services),
    logging: {
      debug: (...args: unknown[]) => log.debug(args.map(String).join(" ")),
      info: (...args: unknown[]) => log.info(args.map(String).join(" ")),
      warn: (...args: unknown[]) => log.warn(args.map(String).join(" ")),
      error: (...args: unknown[]) => log.error(args.map(String).join(" ")),
    },
    // In production, errors carry no stack or original message (Yoga's default masking).
    maskedErrors: true as const,
    parserAndValidationCache: {
      documentCache: createParseCache<DocumentNode>(),
      errorCache: createParseCache<object>(),
      validationCache: true,
    },
    plugins: [
      // First, so that its line also covers what the guard refuses (its duration and codes).
      operations.plugin,
      useOperationGuard(options),
      // Variables that do not coerce: BAD_USER_INPUT naming the field, without echoing megabytes.
      useInputErrors(),
      // Statistics queries and record mutations run compiled (graphql-jit) once their document repeats.
      useCompiledStatistics({ fields: STATISTICS_ROOT_FIELDS, mutations: WRITE_MUTATIONS }),
    ],
  };
}
