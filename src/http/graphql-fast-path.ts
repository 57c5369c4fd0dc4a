// The Node HTTP entry of the API. It runs the transport stages of the request pipeline
// (docs/security.md; src/guard/) for every request before reading a byte of its body: Host,
// Origin/CSRF and declared size (1), the API key (2), the key's rate limit (3); then it reads the
// body up to MAX_BODY_BYTES and hands the request, with its caller, to the lean path or to Yoga.
// Both run the same envelop plugins (parse, validate, authorise, cost, result size).
//
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
  GraphQLError,
  getOperationAST,
  type OperationDefinitionNode,
} from "graphql";
import { processRegularResult, type YogaServerInstance } from "graphql-yoga";
import { STATISTICS_ROOT_FIELDS } from "../analytics/response-cache.ts";
import { clientError, LimitError } from "../errors.ts";
import type { Admission } from "../guard/admission.ts";
import type { Caller } from "../guard/keys.ts";
import type { LoadControl } from "../guard/load.ts";
import { serializedBodies, serializedResults } from "../guard/operation.ts";
import type { RefusalLog } from "../guard/refusal-log.ts";
import type { HeaderSource, TransportChecks } from "../guard/transport.ts";
import type { WriteWorkers } from "../ingest/write-workers.ts";
import {
  bindToRequest,
  currentRequest,
  inRequestScope,
  REQUEST_ID_HEADER,
  type RequestScope,
} from "../request-scope.ts";
import type { OperationLog } from "./operation-log.ts";
import { bodyLength, SplicedLists } from "./spliced-lists.ts";

/** Without write workers, bodies this long keep their admission while they wait for a commit. */
const BIG_BODY_BYTES = 64 * 1024;

export interface FastPathOptions {
  endpoint?: string;
  /** Paths served without the pipeline (they run no GraphQL). Default /health, /ready, /metrics. */
  openPaths?: readonly string[];
  /** Largest request body (MAX_BODY_BYTES); a larger one is refused with 413. */
  maxBodyBytes: number;
  /** Stage 1: Host, Origin, CSRF and declared size. */
  transport: TransportChecks;
  /** Stages 2 and 3: the API key and its rate limit. */
  admission: Admission;
  /** Where refusals of stages 1 to 3 are logged. Default none. */
  onRefusal?: RefusalLog;
  /** Admission control (queue room for writers, slots per lane). Default none. */
  load?: LoadControl;
  /** Whole-response caching for the operations it accepts. Default none. */
  responseCache?: ResponseCacheHooks;
  /** Where writers' big bodies run (src/ingest/write-workers.ts). Default: on this thread. */
  workers?: WriteWorkers;
  /** Where the statistics queries run (ANALYTICS_WORKERS). Default: on this thread. */
  analyticsWorkers?: WriteWorkers;
  /** True once the server is stopping: every GraphQL request is refused SHUTTING_DOWN. Default never. */
  shuttingDown?: () => boolean;
  /** Told of every answer served whole from `responseCache` (src/http/operation-log.ts). Default none. */
  onCachedAnswer?: OperationLog["cached"];
}

/** Where the fast path keeps whole answers (only answers without errors are offered). */
export interface ResponseCacheHooks {
  /** The key of this operation's answer, or undefined when it must not be cached. */
  key(document: DocumentNode, operation: OperationDefinitionNode, params: Params, context: unknown): string | undefined;
  /** The stored answer, if still current. */
  get(key: string, context: unknown): Promise<Body | undefined>;
  /** Offers the answer just computed with `context`. */
  set(key: string, body: Body, context: unknown): void;
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
  const { query, variables, operationName, extensions, ...unknown } = value as Record<string, unknown>;
  if (typeof query !== "string") return undefined;
  // Yoga refuses other keys and non-object extensions: leave those answers to it.
  for (const _ in unknown) return undefined;
  if (
    extensions !== undefined &&
    extensions !== null &&
    (typeof extensions !== "object" || Array.isArray(extensions))
  ) {
    return undefined;
  }
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

/** A Node request's headers, read the Fetch way. */
export function nodeHeaders(req: IncomingMessage): HeaderSource {
  return {
    get: (name: string) => {
      const value = req.headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
    },
    has: (name: string) => req.headers[name.toLowerCase()] !== undefined,
  };
}

/**
 * Whether a body may hold a statistics query (its text names one of their fields): the analytics
 * worker decides after parsing, and hands back anything else.
 */
const STATISTICS_FIELD_NAMES = [...STATISTICS_ROOT_FIELDS];
const mentionsStatistics = (raw: Buffer) =>
  raw.length <= 256 * 1024 && STATISTICS_FIELD_NAMES.some((field) => raw.includes(field));

/** Requests that were told "100 Continue" (their body is on its way). */
const continued = new WeakSet<IncomingMessage>();

/**
 * Whether the client waits for "100 Continue" before it sends its body (`Expect: 100-continue`,
 * served through the server's `checkContinue` event): a refusal then costs it no upload.
 */
const awaitsContinue = (req: IncomingMessage) =>
  !continued.has(req) && (req.headers.expect ?? "").toLowerCase() === "100-continue";

/** Admitted: a client that sent `Expect: 100-continue` may send its body now. */
function sendContinue(req: IncomingMessage, res: ServerResponse): void {
  if (!awaitsContinue(req)) return;
  res.writeContinue();
  continued.add(req);
}

/** GraphiQL's page: a browser's GET for HTML, which Yoga answers without running anything. */
const isGraphiQLPage = (req: IncomingMessage) =>
  req.method === "GET" && (req.headers.accept ?? "").toLowerCase().includes("text/html");

/** Returns a Node request handler: the fast path where it applies, Yoga everywhere else. */
export function createGraphQLHandler(yoga: AnyYoga, options: FastPathOptions): GraphQLHandler {
  const {
    endpoint = "/graphql",
    maxBodyBytes,
    responseCache,
    transport,
    admission,
    onRefusal,
    load,
    workers,
    analyticsWorkers,
    shuttingDown = () => false,
    onCachedAnswer,
  } = options;
  const openPaths = new Set(options.openPaths ?? ["/health", "/ready", "/metrics"]);
  const json = { "content-type": "application/json; charset=utf-8" };
  const counts = { fast: 0, yoga: 0 };

  /** Replays a request whose body we already read through Yoga's fetch handler. */
  const delegate = async (req: IncomingMessage, res: ServerResponse, body: Buffer, caller: Caller) => {
    counts.yoga++;
    const headers = new yoga.fetchAPI.Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const method = req.method ?? "POST";
    const response = await yoga.fetch(
      new yoga.fetchAPI.Request(`http://${req.headers.host ?? "localhost"}${req.url ?? endpoint}`, {
        method,
        headers,
        ...(method === "GET" || method === "HEAD" ? {} : { body: new Uint8Array(body) }),
      }),
      // The server context becomes part of Yoga's initial context: the caller admitted above.
      { req, res, caller },
    );
    await send(res, response.status, response.headers, Buffer.from(await response.arrayBuffer()));
  };

  const send = (
    res: ServerResponse,
    status: number,
    headers: Headers | Record<string, string>,
    body: Body | Uint8Array,
  ) =>
    new Promise<void>((done) => {
      const plain: Record<string, string> = {};
      if (isHeaders(headers)) {
        headers.forEach((value, name) => {
          plain[name] = value;
        });
      } else Object.assign(plain, headers);
      plain["content-length"] = String(bodyLength(body));
      res.writeHead(status, plain);
      if (typeof body === "string" || body instanceof Uint8Array) {
        res.end(body, done);
        return;
      }
      // An answer in chunks (spliced lists): one writev, no joined copy.
      res.cork();
      for (const chunk of body) res.write(chunk);
      res.end(done);
      res.uncork();
    });

  /** A refusal of stages 1 to 3, in GraphQL's error format, before the body is read. */
  const refuse = (req: IncomingMessage, res: ServerResponse, error: GraphQLError, key?: string) => {
    onRefusal?.(error, { transport: "http", key, remote: req.socket.remoteAddress });
    const status = (error.extensions.http as { status?: number } | undefined)?.status ?? 400;
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    const retryAfterMs = error.extensions.retryAfterMs;
    if (typeof retryAfterMs === "number") headers["retry-after"] = String(Math.ceil(retryAfterMs / 1000));
    // A stopping server lets go of kept-alive connections: it answers once the body is read
    // (drained, below), then closes, so that the client reads the answer.
    const closeAfterBody = error.extensions.code === "SHUTTING_DOWN";
    if (closeAfterBody) headers.connection = "close";
    let bodyRead: Promise<void> = Promise.resolve();
    if (!req.complete) {
      if (awaitsContinue(req)) {
        // The client waits for "100 Continue" before it sends its body: it never will, and the
        // connection closes after the answer (what was refused cost no upload).
        headers.connection = "close";
      } else if (error.extensions.code === "PAYLOAD_TOO_LARGE") {
        // More than MAX_BODY_BYTES is coming: answer, then close the connection.
        headers.connection = "close";
      } else {
        // The unread body is discarded, never parsed, so that the client reads the answer and
        // the connection stays usable (closing it while the client still sends would reset it
        // before the answer is read). More than MAX_BODY_BYTES, or 5 s, and it is closed.
        let discarded = 0;
        const slow = setTimeout(() => req.socket.destroy(), 5_000).unref();
        req.on("data", (chunk: Buffer) => {
          discarded += chunk.length;
          if (discarded > maxBodyBytes) req.socket.destroy();
        });
        if (closeAfterBody) bodyRead = new Promise((done) => req.once("end", () => done()));
        req.once("end", () => clearTimeout(slow));
        req.resume();
      }
    }
    const { http: _http, ...extensions } = error.extensions;
    const answer = JSON.stringify({ errors: [{ message: error.message, extensions }] });
    void bodyRead.then(() => send(res, status, headers, answer));
  };

  const run = async (req: IncomingMessage, res: ServerResponse, raw: Buffer, caller: Caller): Promise<void> => {
    const answer = await answerOperation(
      yoga,
      raw,
      caller,
      { url: req.url, headers: nodeHeaders(req), req, res },
      {
        ...(responseCache ? { responseCache } : {}),
        ...(onCachedAnswer ? { onCachedAnswer } : {}),
      },
    );
    if (answer === "delegate" || answer === "declined") return delegate(req, res, raw, caller);
    counts.fast++;
    return send(res, answer.status, answer.headers, answer.body);
  };

  /**
   * A writer's big body goes to a write worker, a statistics query to an analytics worker; what a
   * worker hands back (not its kind of operation) runs here.
   */
  /**
   * Runs a request on this thread. A big body keeps its admission until it is answered: its
   * parsed copy stays on this thread's heap while it waits for its commit.
   */
  const runHere = (req: IncomingMessage, res: ServerResponse, raw: Buffer, caller: Caller) => {
    const scope = currentRequest();
    if (scope && raw.length >= (workers?.minBytes ?? BIG_BODY_BYTES)) delete scope.onRowsQueued;
    return run(req, res, raw, caller);
  };

  const runAnywhere = async (req: IncomingMessage, res: ServerResponse, raw: Buffer, caller: Caller) => {
    const pool =
      workers && caller.role !== "reader" && raw.length >= workers.minBytes
        ? workers
        : analyticsWorkers && mentionsStatistics(raw)
          ? analyticsWorkers
          : undefined;
    if (!pool) return runHere(req, res, raw, caller);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      // The caller is already known: credentials stay on this thread.
      if (value === undefined || name === "authorization" || name === "cookie") continue;
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    // The worker's operation log line names this request.
    const reqId = currentRequest()?.reqId;
    if (reqId) headers[REQUEST_ID_HEADER] = reqId;
    const outcome = await pool.run(raw, caller, headers, req.url ?? endpoint, currentRequest()?.onRowsQueued);
    if (outcome.kind === "main") return runHere(req, res, outcome.body, caller);
    counts.fast++;
    return send(res, outcome.answer.status, outcome.answer.headers, outcome.answer.body);
  };

  // Every request runs in a scope of its own (request-scope.ts): its log lines carry its id, sent
  // back in `x-request-id`, and, once known, the key's name.
  const handler = (req: IncomingMessage, res: ServerResponse): void =>
    inRequestScope((scope) => {
      res.setHeader(REQUEST_ID_HEADER, scope.reqId);
      handle(req, res, scope);
    });

  const handle = (req: IncomingMessage, res: ServerResponse, scope: RequestScope): void => {
    const headers = nodeHeaders(req);
    const path = (req.url ?? "").split("?")[0];
    // 1. Transport: the Host header on every path (DNS rebinding), the rest on the endpoint.
    const hostRefusal = transport.host(headers);
    if (hostRefusal) {
      refuse(req, res, hostRefusal);
      return;
    }
    if (openPaths.has(path ?? "")) {
      // Probes and /metrics: nothing of the caller's is parsed.
      counts.yoga++;
      sendContinue(req, res);
      void yoga(req, res);
      return;
    }
    // Stopping: nothing more is accepted, on new connections or kept-alive ones (README,
    // "Shutdown"); what was acknowledged before is flushed by the writer.
    if (shuttingDown()) {
      refuse(
        req,
        res,
        clientError(
          "SHUTTING_DOWN",
          "The server is shutting down and accepts no more requests; send them again to another instance or once it is back",
          { retryable: true, retryAfterMs: 1_000, http: { status: 503 } },
        ),
      );
      return;
    }
    // Every other path passes the pipeline: Yoga also serves GraphQL on variants of the
    // endpoint (`/graphql/`, `//graphql`), and unknown paths get their 404 after the key.
    const page = isGraphiQLPage(req);
    const transportRefusal = page ? transport.origin(headers) : transport.request(req.method ?? "GET", headers);
    if (transportRefusal) {
      refuse(req, res, transportRefusal);
      return;
    }
    if (req.method === "OPTIONS" || page) {
      // CORS preflights (the Origin is allowed) and GraphiQL's static page.
      counts.yoga++;
      sendContinue(req, res);
      void yoga(req, res);
      return;
    }
    // 2 and 3. The key and its rate limit, from the headers alone.
    const caller = admission.authenticate(headers.get("authorization"));
    if (caller instanceof Error) {
      refuse(req, res, caller);
      return;
    }
    scope.key = caller.name;
    const limited = admission.rateLimit(caller);
    if (limited) {
      refuse(req, res, limited, caller.name);
      return;
    }

    // 3b. Admission control: a writer's rows must fit the ingest queue, and every request takes
    // a slot in its lane, before its body is read (src/guard/load.ts).
    let releaseRows: (() => void) | undefined;
    if (load && caller.role === "writer") {
      const reserved = load.reserveWrite(Number(headers.get("content-length") ?? 0) || 0);
      if (reserved instanceof GraphQLError) {
        refuse(req, res, reserved, caller.name);
        return;
      }
      releaseRows = reserved;
    }
    if (!load) {
      readAndRun(req, res, caller);
      return;
    }
    let closed = false;
    let releaseSlot: (() => void) | undefined;
    res.once("close", () => {
      closed = true;
      releaseSlot?.();
      releaseRows?.();
    });
    // What the body may hold: its announced length, or the most a body may be.
    const declared = headers.get("content-length");
    const bytes =
      declared !== null ? Number(declared) || 0 : req.method === "GET" || req.method === "HEAD" ? 0 : maxBodyBytes;
    void load.acquire(caller.role === "writer" ? "write" : "read", bytes).then((slot) => {
      if (slot instanceof GraphQLError) {
        releaseRows?.();
        if (!closed) refuse(req, res, slot, caller.name);
        return;
      }
      releaseSlot = slot;
      if (caller.role === "writer") {
        scope.onRowsQueued = () => {
          releaseSlot?.();
          releaseRows?.();
        };
      }
      if (closed) slot();
      else readAndRun(req, res, caller);
    });
  };

  /** Reads the body (up to MAX_BODY_BYTES) and hands the request to the lean path or Yoga. */
  const readAndRun = (req: IncomingMessage, res: ServerResponse, caller: Caller): void => {
    sendContinue(req, res);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on(
      "data",
      bindToRequest((chunk: Buffer) => {
        if (tooLarge) return;
        size += chunk.length;
        if (size > maxBodyBytes) {
          tooLarge = true;
          chunks.length = 0;
          refuse(
            req,
            res,
            new LimitError("MAX_BODY_BYTES", maxBodyBytes, size, "The request body (bytes)", { atLeast: true }),
            caller.name,
          );
        } else chunks.push(chunk);
      }),
    );
    req.on(
      "end",
      bindToRequest(() => {
        if (tooLarge) return;
        const body = Buffer.concat(chunks);
        const handled = isCandidate(req, endpoint)
          ? runAnywhere(req, res, body, caller)
          : delegate(req, res, body, caller);
        handled.catch((error: unknown) => {
          yoga.logger.error(error);
          if (!res.headersSent) {
            void send(res, 500, json, JSON.stringify({ errors: [{ message: "Unexpected error." }] }));
          } else res.destroy();
        });
      }),
    );
  };
  return Object.assign(handler, { counts });
}

/** What the lean path answers: status, headers and body. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Body;
}

/** An answer's JSON: text, or its UTF-8 bytes in chunks (spliced lists, http/spliced-lists.ts). */
export type Body = string | readonly Uint8Array[];

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

async function fromYogaResponse(response: Response): Promise<Answer> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { status: response.status, headers, body: await response.text() };
}

/**
 * Runs a POSTed JSON body through Yoga's envelop (parse, validate, context, execute: the same
 * plugins as every transport) and answers it; "delegate" when Yoga itself should answer (the
 * body is not a plain GraphQL request, or the document does not validate), "declined" when
 * `accept` refused the operation before anything ran. Used by the Node entry and by the write
 * workers (src/ingest/write-workers.ts), which run big record mutations off the main thread.
 */
export async function answerOperation(
  yoga: AnyYoga,
  raw: Buffer,
  caller: Caller,
  request: { url: string | undefined; headers: HeaderSource; req?: IncomingMessage; res?: ServerResponse },
  options: {
    responseCache?: ResponseCacheHooks;
    /** Whether this operation may run here; checked after validation, before the context is made. */
    accept?: (operation: OperationDefinitionNode) => boolean;
    /** Told of an answer served from `responseCache` (it executes nothing, so no plugin sees it). */
    onCachedAnswer?: OperationLog["cached"];
  } = {},
): Promise<Answer | "delegate" | "declined"> {
  const { responseCache, accept, onCachedAnswer } = options;
  const started = performance.now();
  const params = parseParams(raw.toString("utf8"));
  if (!params) return "delegate";
  // What context factories read of the request (headers, e.g. for authentication), without
  // building a fetch Request.
  const { parse, validate, contextFactory, execute, schema } = yoga.getEnveloped({
    request: { method: "POST", url: request.url, headers: request.headers },
    params,
    req: request.req,
    res: request.res,
    caller,
  });
  let document: DocumentNode;
  try {
    document = parse(params.query);
  } catch (error) {
    // A refused document (syntax, MAX_TOKENS) is answered here, as Yoga would: handing a
    // megabyte of query text to Yoga would parse its JSON and lex it a second time.
    if (!(error instanceof GraphQLError)) return "delegate";
    return fromYogaResponse(await processRegularResult({ errors: [error] }, yoga.fetchAPI, "application/json"));
  }
  const errors: readonly GraphQLError[] = validate(schema, document);
  const operation = getOperationAST(document, params.operationName);
  if (errors.length > 0 || !operation || operation.operation === "subscription") return "delegate";
  if (accept && !accept(operation)) return "declined";
  let contextValue: unknown;
  try {
    contextValue = await contextFactory();
  } catch {
    // Nothing has run yet: let Yoga answer in its own words.
    return "delegate";
  }
  const cacheKey = responseCache?.key(document, operation, params, contextValue);
  if (responseCache && cacheKey !== undefined) {
    const cached = await responseCache.get(cacheKey, contextValue);
    if (cached !== undefined) {
      onCachedAnswer?.({ document, operationName: params.operationName, contextValue }, started);
      return { status: 200, headers: JSON_HEADERS, body: cached };
    }
  }
  // A query's bucketed lists may answer their closed pieces as kept JSON text (spliced-lists.ts).
  const splice = operation.operation === "query" ? new SplicedLists() : undefined;
  if (splice) (contextValue as { splice?: SplicedLists }).splice = splice;
  const run = async () =>
    (await execute({
      schema,
      document,
      contextValue: contextValue as Record<string, unknown>,
      variableValues: params.variables,
      operationName: params.operationName,
    })) as ExecutionResult;
  let result = await run();
  if (splice?.omitted && result.errors?.length) {
    // Errors are Yoga's to answer, from a result that holds every row: run again without text.
    delete (contextValue as { splice?: SplicedLists }).splice;
    result = await run();
  }
  if (!result.errors?.length) {
    // With spliced lists the text the size check made (if any) is the answer's; without, its JSON.
    const body = splice?.recorded
      ? (serializedBodies.get(result) ?? splice.serialize(result))
      : (serializedResults.get(result) ?? JSON.stringify(result));
    if (responseCache && cacheKey !== undefined) responseCache.set(cacheKey, body, contextValue);
    return { status: 200, headers: JSON_HEADERS, body };
  }
  // Errors: Yoga's own result processor decides status and strips internals.
  return fromYogaResponse(await processRegularResult(result, yoga.fetchAPI, "application/json"));
}
