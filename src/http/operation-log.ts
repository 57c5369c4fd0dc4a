// One log line per GraphQL operation (issue 14, point 5), on every transport (an envelop plugin
// of the shared pipeline): operation name and type, the key's name (never the key), the request
// id, the duration and the outcome (`ok`, or `error` with the error codes). A subscription's line
// is written when it ends, with the messages it sent. An answer served whole from the response
// cache executes nothing and writes its line (`"cached": true`) from the fast path. The same
// figures go to `onOperation`, which feeds /metrics (src/http/metrics.ts).
//   {"level":30,"reqId":"…","key":"bot-1","operation":"recordTrades","type":"mutation","ms":3.1,"outcome":"ok","msg":"operation"}
import type { Plugin } from "@envelop/core";
import { type ExecutionResult, type GraphQLError, getOperationAST } from "graphql";
import type { Logger } from "pino";
import type { Context } from "../context.ts";
import { currentRequest, REQUEST_ID_HEADER } from "../request-scope.ts";

/** What an operation is described from: its document, the operation chosen and its context. */
export type OperationArgs = {
  document: Parameters<typeof getOperationAST>[0];
  operationName?: string | null | undefined;
  contextValue: unknown;
};

function describe(args: OperationArgs) {
  const operation = getOperationAST(args.document, args.operationName);
  const context = args.contextValue as Partial<Context> & {
    request?: { headers?: { get(name: string): string | null } };
  };
  const fields: Record<string, unknown> = {
    operation: operation?.name?.value ?? args.operationName ?? firstField(operation),
    type: operation?.operation ?? "unknown",
  };
  // Taken now: a subscription's line is written when it ends, outside its request's scope. In a
  // write or analytics worker (no scope), the id the HTTP entry forwarded.
  const reqId = currentRequest()?.reqId ?? context.request?.headers?.get(REQUEST_ID_HEADER);
  if (reqId) fields.reqId = reqId;
  if (context.caller) fields.key = context.caller.name;
  return fields;
}

/** An anonymous operation is named by its first root field. */
const firstField = (operation: ReturnType<typeof getOperationAST>) => {
  const first = operation?.selectionSet.selections[0];
  return first?.kind === "Field" ? first.name.value : undefined;
};

const codes = (errors: readonly GraphQLError[] | undefined) => [
  ...new Set((errors ?? []).map((e) => String(e.extensions?.code ?? "INTERNAL_SERVER_ERROR"))),
];

/** What is known of an operation when it ends: the log line's figures, for /metrics (src/http/metrics.ts). */
export interface OperationRecord {
  /** Client-chosen (or its first root field): unbounded, capped before it becomes a label. */
  operation: string | undefined;
  type: string;
  seconds: number;
  /** The error codes, empty when it succeeded. */
  errors: string[];
  /** Messages a subscription sent. */
  messages?: number;
}

/** Where operations are reported as they end (each thread has one: a worker's forwards to the main thread). */
export type OnOperation = (record: OperationRecord) => void;

export interface OperationLog {
  /** The envelop plugin: every operation that executes, on every transport that runs this Yoga. */
  plugin: Plugin;
  /** An answer served whole from the response cache (nothing executed): logged and counted too. */
  cached(args: OperationArgs, started: number): void;
  /**
   * Counts a message of the subscription whose context is `context` that skipped its iterator
   * (live/ws-server.ts writes stream events straight to the socket); it is in the line's `messages`.
   */
  delivered(context: object): void;
}

/** One log line per operation, and the same figures to `onOperation` (default none). */
export function createOperationLog(log: Logger, onOperation?: OnOperation): OperationLog {
  /** Messages of the subscriptions in progress, by context. */
  const sent = new WeakMap<object, { messages: number }>();
  const done = (fields: Record<string, unknown>, started: number, errors?: readonly GraphQLError[]) => {
    const seconds = (performance.now() - started) / 1000;
    const errorCodes = codes(errors);
    const outcome = errorCodes.length ? { outcome: "error", errors: errorCodes } : { outcome: "ok" };
    log.info({ ...fields, ms: Math.round(seconds * 1e6) / 1000, ...outcome }, "operation");
    onOperation?.({
      operation: fields.operation as string | undefined,
      type: fields.type as string,
      seconds,
      errors: errorCodes,
      ...(typeof fields.messages === "number" ? { messages: fields.messages } : {}),
    });
  };
  const plugin: Plugin = {
    onExecute({ args }) {
      const started = performance.now();
      const fields = describe(args as OperationArgs);
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return; // incremental delivery: not used here
          done(fields, started, (result as ExecutionResult).errors);
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      const fields = describe(args as OperationArgs);
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in (result as object))) {
            done(fields, started, (result as ExecutionResult).errors);
            return;
          }
          const tally = { messages: 0 };
          if (typeof args.contextValue === "object" && args.contextValue !== null) sent.set(args.contextValue, tally);
          let errors: readonly GraphQLError[] | undefined;
          return {
            onNext({ result: next }) {
              tally.messages++;
              if ((next as ExecutionResult).errors?.length) errors = (next as ExecutionResult).errors;
            },
            onEnd() {
              done({ ...fields, messages: tally.messages }, started, errors);
            },
          };
        },
      };
    },
  };
  return {
    plugin,
    cached: (args, started) => done({ ...describe(args), cached: true }, started),
    delivered: (context) => {
      const tally = sent.get(context);
      if (tally) tally.messages++;
    },
  };
}
