// The one list of error codes the API returns in `extensions.code`, and the constructors of the
// client errors. Anything thrown that is not a GraphQLError made here is masked by Yoga as
// "Unexpected error." (QuestDB's messages, SQL and addresses never reach a client).
// docs/errors.md lists the same codes; test/errors.test.ts keeps the two (and every code used in
// src/) in step.
import { GraphQLError } from "graphql";
import type { FieldProblem } from "./ingest/validation.ts";

/** Every `extensions.code` a client may see, with the HTTP status it comes with and what it means. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, meaning: "The HTTP request is malformed (body, content type, method)." },
  GRAPHQL_PARSE_FAILED: { status: 400, meaning: "The query does not parse." },
  GRAPHQL_VALIDATION_FAILED: { status: 400, meaning: "The query does not validate against the schema." },
  OPERATION_RESOLUTION_FAILURE: {
    status: 400,
    meaning: "The document has no operation, or none with the operationName sent.",
  },
  BAD_USER_INPUT: {
    status: 200,
    meaning:
      "An argument or input field is invalid; the message (and extensions.field) names it. HTTP 400 when the variables themselves do not coerce.",
  },
  UNAUTHENTICATED: { status: 401, meaning: "The API key is missing or wrong." },
  FORBIDDEN: {
    status: 403,
    meaning: "The key's role may not run this operation, or the request's Origin/Host is not allowed.",
  },
  RATE_LIMITED: {
    status: 429,
    meaning: "The key sent more requests per second than allowed; retry after the time given.",
  },
  LIMIT_EXCEEDED: {
    status: 400,
    meaning: "The request crossed a configured limit; the message names the limit and the value.",
  },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: "The request body is larger than MAX_BODY_BYTES." },
  RESPONSE_TOO_LARGE: { status: 400, meaning: "The answer would be larger than MAX_RESPONSE_BYTES; narrow the query." },
  QUERY_TIMEOUT: { status: 200, meaning: "A statement ran longer than QUERY_TIMEOUT_MS." },
  QUEUE_FULL: {
    status: 200,
    meaning:
      "The write queue is full; retry later (retryable). HTTP 503 with Retry-After when refused before the body is read.",
  },
  OVERLOADED: {
    status: 503,
    meaning: "Too many requests are running or waiting; retry after the time given (retryable, Retry-After).",
  },
  SHUTTING_DOWN: { status: 200, meaning: "The server is stopping; retry on another instance (retryable)." },
  ROWS_REJECTED: { status: 200, meaning: "QuestDB refused the rows; they were dead-lettered." },
  INTERNAL_SERVER_ERROR: { status: 500, meaning: 'Anything unexpected (masked as "Unexpected error.").' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A client error with its code (and the code's HTTP status, for HTTP answers). */
export function clientError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  const { status } = ERROR_CODES[code];
  return new GraphQLError(message, {
    extensions: { code, ...extensions, ...(status !== 200 ? { http: { status } } : {}) },
  });
}

/** A bad argument or input field: the message starts with the field's path. */
export class BadInputError extends GraphQLError {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`, { extensions: { code: "BAD_USER_INPUT", field } });
  }
}

/** A configured limit crossed: names the limit (its variable) and the value that crossed it. */
export class LimitError extends GraphQLError {
  constructor(
    readonly limit: string,
    readonly max: number,
    readonly actual: number,
    what: string,
    options: { hint?: string; atLeast?: boolean } = {},
  ) {
    const code: ErrorCode =
      limit === "MAX_BODY_BYTES"
        ? "PAYLOAD_TOO_LARGE"
        : limit === "MAX_RESPONSE_BYTES"
          ? "RESPONSE_TOO_LARGE"
          : "LIMIT_EXCEEDED";
    const { status } = ERROR_CODES[code];
    const value = options.atLeast ? `more than ${max}` : String(actual);
    // A document or answer over a limit is a request error: GraphQL over HTTP answers it with
    // 200 under application/json and 4xx under application/graphql-response+json (`spec`).
    const http = code === "PAYLOAD_TOO_LARGE" ? { status } : { status: 400, spec: true };
    super(`${what} is ${value}, above the limit of ${max} (${limit})${options.hint ? `; ${options.hint}` : ""}`, {
      extensions: { code, limit, max, actual, http },
    });
  }
}

/** Where a record* mutation's input is bad: every problem, each with its path (`inputs[3].baseAmount`). */
export class InvalidInputError extends GraphQLError {
  constructor(argument: string, problems: readonly FieldProblem[], list: boolean) {
    const where = (p: FieldProblem) => (list ? `${argument}[${p.index}].${p.field}` : `${argument}.${p.field}`);
    const summary = problems
      .slice(0, 20)
      .map((p) => `${where(p)} ${p.reason}`)
      .join("; ");
    const more = problems.length > 20 ? `; and ${problems.length - 20} more (see extensions.problems)` : "";
    const code: ErrorCode = "BAD_USER_INPUT";
    super(`Invalid input, nothing was recorded: ${summary}${more}`, {
      extensions: {
        code,
        field: problems[0] ? where(problems[0]) : argument,
        problems: problems.map((p) => ({ ...p, path: where(p) })),
      },
    });
  }
}

/** A copy of a GraphQL error (message, source, positions, extensions) with `extensions.code` set. */
export function withCode(error: GraphQLError, code: ErrorCode): GraphQLError {
  const { message, source, positions, extensions } = error;
  return new GraphQLError(message, {
    ...(source ? { source } : {}),
    ...(positions ? { positions } : {}),
    extensions: { ...extensions, code },
  });
}
