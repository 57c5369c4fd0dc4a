// graphql-js reports variables that do not coerce (a wrong type, an unknown enum value, null for
// a non-null, a scalar's refusal) without a code, and echoes the whole invalid value: a
// megabyte string comes back as a megabyte message. This gives those errors BAD_USER_INPUT and
// `extensions.field` (the variable's path, `input.timestamp`), and drops an echoed value longer
// than MAX_ECHO characters. The HTTP status (400, set by the executor) is kept.
//
// Register `useInputErrors()` in Yoga's plugin list (src/app.ts): the HTTP fast path runs
// Yoga's envelop, so one registration covers it, Yoga's own path and graphql-ws alike.
import { type ExecutionResult, GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { ErrorCode } from "../errors.ts";

/** Longest echoed invalid value kept in a message. */
export const MAX_ECHO = 200;

const CODE: ErrorCode = "BAD_USER_INPUT";
const VARIABLE = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)"/;

function normalize(error: GraphQLError): GraphQLError {
  if (error.extensions?.code !== undefined && error.extensions.code !== CODE) return error;
  const variable = VARIABLE.exec(error.message)?.[1];
  if (variable === undefined) return error;
  let message = error.message;
  let field = variable;
  const inner = error.originalError?.message;
  const prefix =
    inner !== undefined && message.endsWith(`; ${inner}`) ? message.slice(0, -inner.length - 2) : undefined;
  if (prefix?.includes(" got invalid value ")) {
    const at = prefix.lastIndexOf(' at "');
    if (at >= 0 && prefix.endsWith('"')) field = prefix.slice(at + 5, -1);
    if (prefix.length > MAX_ECHO) {
      message = `Variable "$${variable}" got an invalid value${at >= 0 ? ` at "${field}"` : ""}; ${inner}`;
    }
  }
  if (message === error.message && error.extensions?.code === CODE && error.extensions.field !== undefined) {
    return error;
  }
  return new GraphQLError(message, {
    ...(error.nodes ? { nodes: error.nodes } : {}),
    ...(error.path ? { path: error.path } : {}),
    ...(error.originalError ? { originalError: error.originalError } : {}),
    extensions: { ...error.extensions, code: CODE, field },
  });
}

/** The errors of a result, variable-coercion ones given BAD_USER_INPUT and a short message. */
export function normalizeInputErrors(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map(normalize);
  return errors.every((e, i) => e === result.errors?.[i]) ? result : { ...result, errors };
}

/** normalizeInputErrors on every execution and subscription result. */
export function useInputErrors(): Plugin {
  return {
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!(Symbol.asyncIterator in result)) setResult(normalizeInputErrors(result));
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (!(Symbol.asyncIterator in result)) setResult(normalizeInputErrors(result));
      },
    }),
  };
}
