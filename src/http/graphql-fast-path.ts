// A lean Node HTTP path for the common request: POST /graphql, a JSON body, no browser Origin.
// It runs the operation through Yoga's own envelop (`yoga.getEnveloped`: the same parser and
// validation caches, context, error masking and plugins) and skips only Yoga's fetch-API
// adapter (Request/Response objects, URLPattern routing, AbortSignals), which cost more than
// the mutation itself: measured in bench/ingest.ts, a bot's recordTrade went from ~1,500 to
// over 3,000 per second on two cores. Anything else (GET, GraphiQL, CORS, multipart, SSE, a
// request that does not parse or validate) is handed to Yoga unchanged, so error answers are
// Yoga's own. test/fast-path.test.ts compares both paths answer for answer.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  getOperationAST,
  type OperationDefinitionNode,
} from "graphql";
import { processRegularResult, type YogaServerInstance } from "graphql-yoga";

export interface FastPathOptions {
  endpoint?: string;
  /** Largest body read by the fast path; larger ones go to Yoga. Default 64 MiB. */
  maxBodyBytes?: number;
  /** Whole-response caching for the operations it accepts. Default none. */
  responseCache?: ResponseCacheHooks;
}

/** Where the fast path keeps whole answers (only answers without errors are offered). */
export interface ResponseCacheHooks {
  /** The key of this operation's answer, or undefined when it must not be cached. */
  key(document: DocumentNode, operation: OperationDefinitionNode, params: Params, context: unknown): string | undefined;
  /** The stored answer, if still current. */
  get(key: string, context: unknown): Promise<string | undefined>;
  /** Offers the answer just computed with `context`. */
  set(key: string, body: string, context: unknown): void;
}

export interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

// biome-ignore lint/suspicious/noExplicitAny: Yoga's generic context types are not needed here
type AnyYoga = YogaServerInstance<any, any>;

function isCandidate(req: IncomingMessage, endpoint: string): boolean {
  if (req.method !== "POST" || req.headers.origin !== undefined) return false;
  const path = req.url ?? "";
  if (path !== endpoint && !path.startsWith(`${endpoint}?`)) return false;
  if (!(req.headers["content-type"] ?? "").toLowerCase().startsWith("application/json")) return false;
  const accept = req.headers.accept;
  return accept === undefined || accept === "*/*" || accept.toLowerCase().startsWith("application/json");
}

function isHeaders(value: Headers | Record<string, string>): value is Headers {
  return typeof (value as { forEach?: unknown }).forEach === "function";
}

function parseParams(body: string): Params | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { query, variables, operationName } = value as Record<string, unknown>;
  if (typeof query !== "string") return undefined;
  if (variables !== undefined && variables !== null && (typeof variables !== "object" || Array.isArray(variables))) {
    return undefined;
  }
  if (operationName !== undefined && operationName !== null && typeof operationName !== "string") return undefined;
  return {
    query,
    variables: (variables ?? null) as Record<string, unknown> | null,
    operationName: (operationName ?? null) as string | null,
  };
}

export interface GraphQLHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Requests answered by the fast path, and those handed to Yoga. */
  readonly counts: { fast: number; yoga: number };
}

/** Returns a Node request handler: the fast path where it applies, Yoga everywhere else. */
export function createGraphQLHandler(yoga: AnyYoga, options: FastPathOptions = {}): GraphQLHandler {
  const { endpoint = "/graphql", maxBodyBytes = 64 * 1024 * 1024, responseCache } = options;
  const json = { "content-type": "application/json; charset=utf-8" };
  const counts = { fast: 0, yoga: 0 };

  /** Replays a request whose body we already read through Yoga's fetch handler. */
  const delegate = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    counts.yoga++;
    const headers = new yoga.fetchAPI.Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const response = await yoga.fetch(
      new yoga.fetchAPI.Request(`http://${req.headers.host ?? "localhost"}${req.url ?? endpoint}`, {
        method: req.method ?? "POST",
        headers,
        body: body.toString("utf8"), // only JSON bodies reach the fast path
      }),
      { req, res },
    );
    await send(res, response.status, response.headers, Buffer.from(await response.arrayBuffer()));
  };

  const send = (
    res: ServerResponse,
    status: number,
    headers: Headers | Record<string, string>,
    body: string | Buffer,
  ) =>
    new Promise<void>((done) => {
      const plain: Record<string, string> = {};
      if (isHeaders(headers)) {
        headers.forEach((value, name) => {
          plain[name] = value;
        });
      } else Object.assign(plain, headers);
      plain["content-length"] = String(Buffer.byteLength(body));
      res.writeHead(status, plain);
      res.end(body, done);
    });

  const run = async (req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> => {
    const params = parseParams(raw.toString("utf8"));
    if (!params) return delegate(req, res, raw);
    // What context factories read of the request (headers, e.g. for authentication), without
    // building a fetch Request.
    const request = {
      method: "POST",
      url: req.url,
      headers: {
        get: (name: string) => {
          const value = req.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
        },
        has: (name: string) => req.headers[name.toLowerCase()] !== undefined,
      },
    };
    const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({ request, params, req, res });
    let document: DocumentNode;
    try {
      document = parse(params.query);
    } catch {
      return delegate(req, res, raw);
    }
    const errors: readonly GraphQLError[] = validate(schema, document);
    const operation = getOperationAST(document, params.operationName);
    if (errors.length > 0 || !operation || operation.operation === "subscription") return delegate(req, res, raw);
    let contextValue: unknown;
    try {
      contextValue = await contextFactory();
    } catch {
      // Nothing has run yet: let Yoga answer (e.g. 401 from authentication) in its own words.
      return delegate(req, res, raw);
    }
    counts.fast++;
    const cacheKey = responseCache?.key(document, operation, params, contextValue);
    if (responseCache && cacheKey !== undefined) {
      const cached = await responseCache.get(cacheKey, contextValue);
      if (cached !== undefined) return send(res, 200, json, cached);
    }
    const result = (await execute({
      schema,
      document,
      contextValue: contextValue as Record<string, unknown>,
      variableValues: params.variables,
      operationName: params.operationName,
    })) as ExecutionResult;
    if (!result.errors?.length) {
      const body = JSON.stringify(result);
      if (responseCache && cacheKey !== undefined) responseCache.set(cacheKey, body, contextValue);
      return send(res, 200, json, body);
    }
    // Errors: Yoga's own result processor decides status and strips internals.
    const response = await processRegularResult(result, yoga.fetchAPI, "application/json");
    return send(res, response.status, response.headers, Buffer.from(await response.arrayBuffer()));
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (!isCandidate(req, endpoint)) {
      counts.yoga++;
      void yoga(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => {
      if (tooLarge) {
        void send(res, 413, { "content-type": "text/plain" }, "request body too large");
        return;
      }
      run(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        yoga.logger.error(error);
        if (!res.headersSent) {
          void send(res, 500, json, JSON.stringify({ errors: [{ message: "Unexpected error." }] }));
        } else res.destroy();
      });
    });
  };
  return Object.assign(handler, { counts });
}
