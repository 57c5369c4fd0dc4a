// One log line per GraphQL operation (issue 14, point 5), on every transport (an envelop plugin
// of the shared pipeline): operation name and type, the key's name (never the key), the request
// id, the duration and the outcome (`ok`, or `error` with the error codes). A subscription's line
// is written when it ends, with the messages it sent.
//   {"level":30,"reqId":"…","key":"bot-1","operation":"recordTrades","type":"mutation","ms":3.1,"outcome":"ok","msg":"operation"}
import type { Plugin } from "@envelop/core";
import { type ExecutionResult, type GraphQLError, getOperationAST } from "graphql";
import type { Logger } from "pino";
import type { Context } from "../context.ts";
import { currentRequest, REQUEST_ID_HEADER } from "../request-scope.ts";

type Args = { document: Parameters<typeof getOperationAST>[0]; operationName?: string | null; contextValue: unknown };

function describe(args: Args) {
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

export function useOperationLog(log: Logger): Plugin {
  const done = (fields: Record<string, unknown>, started: number, errors?: readonly GraphQLError[]) => {
    const outcome = errors?.length ? { outcome: "error", errors: codes(errors) } : { outcome: "ok" };
    log.info({ ...fields, ms: Math.round((performance.now() - started) * 1000) / 1000, ...outcome }, "operation");
  };
  return {
    onExecute({ args }) {
      const started = performance.now();
      const fields = describe(args as Args);
      return {
        onExecuteDone({ result }) {
          if (Symbol.asyncIterator in (result as object)) return; // incremental delivery: not used here
          done(fields, started, (result as ExecutionResult).errors);
        },
      };
    },
    onSubscribe({ args }) {
      const started = performance.now();
      const fields = describe(args as Args);
      return {
        onSubscribeResult({ result }) {
          if (!(Symbol.asyncIterator in (result as object))) {
            done(fields, started, (result as ExecutionResult).errors);
            return;
          }
          let messages = 0;
          let errors: readonly GraphQLError[] | undefined;
          return {
            onNext({ result: next }) {
              messages++;
              if ((next as ExecutionResult).errors?.length) errors = (next as ExecutionResult).errors;
            },
            onEnd() {
              done({ ...fields, messages }, started, errors);
            },
          };
        },
      };
    },
  };
}
