// graphql-ws on the same HTTP server and path, through Yoga's envelop (yoga.getEnveloped), so
// subscriptions get the same context, error masking and operation guard as HTTP (the model:
// graphql-yoga's examples/graphql-ws). The transport stages of the pipeline (docs/security.md)
// run here: the upgrade's Host and Origin (refused with 403 before the socket opens), the key at
// connection_init (close 4401 when missing, 4403 when wrong), then, for every operation, the
// key's rate limit and the subscriptions allowed per connection and per key. Every close code a
// client can see (ours, graphql-ws's and ws's) is listed in the README ("WebSocket close codes")
// and docs/security.md, and test/ws-codes.test.ts provokes each one.
import type { IncomingMessage, Server } from "node:http";
import { type ExecutionArgs, GraphQLError, type GraphQLFormattedError } from "graphql";
import type { OperationResult, Context as WsContext } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import { clientError, LimitError, withCode } from "../errors.ts";
import { type Admission, MISSING_KEY_MESSAGE } from "../guard/admission.ts";
import type { Caller } from "../guard/keys.ts";
import { boundedText, serializedResults } from "../guard/operation.ts";
import type { RefusalLog } from "../guard/refusal-log.ts";
import type { TransportChecks } from "../guard/transport.ts";
import { nodeHeaders } from "../http/graphql-fast-path.ts";
import { inRequestScope } from "../request-scope.ts";
import type { SharedResult } from "./shared-execution.ts";

// biome-ignore lint/suspicious/noExplicitAny: Yoga's generic context types are not needed here
type AnyYoga = YogaServerInstance<any, any>;

/** Close codes of refused connections (documented in docs/security.md and the README). */
export const CLOSE_MISSING_KEY = 4401;
export const CLOSE_INVALID_KEY = 4403;

export interface WsServerOptions {
  server: Server;
  yoga: AnyYoga;
  path?: string;
  /** Host and Origin of the upgrade request. */
  transport: TransportChecks;
  /** The key (connection parameter `authorization`, else the upgrade's Authorization header) and rate limit. */
  admission: Admission;
  /** Largest message accepted (MAX_BODY_BYTES). */
  maxPayloadBytes: number;
  maxSubscriptionsPerConnection: number;
  maxSubscriptionsPerKey: number;
  /** Bytes buffered for one socket beyond which it is closed with 4429. Default 8 MiB. */
  maxBufferedBytes?: number;
  /**
   * How often the server pings each socket; a socket that has not answered a ping when the next
   * is due is dropped without a close frame (the client sees 1006). Default 12 s (graphql-ws's).
   */
  keepAliveMs?: number;
  /** Where refused upgrades, connections and operations are logged. Default none. */
  onRefusal?: RefusalLog;
  /**
   * Stream events written straight to the socket (context.directNext, used by tradeRecorded):
   * `{"id":<id>,"type":"next","payload":<the shared result's JSON text>}`, the bytes graphql-ws
   * sends, without the subscription's iterator, envelop's per-message hooks and graphql-ws's
   * `next` (promises and objects per subscriber and event). Only results those hooks leave as they
   * are (no errors, within MAX_RESPONSE_BYTES, executed synchronously) go this way; the others,
   * and the events behind them, go through graphql-ws. Default none: every event does.
   */
  directEvents?: DirectEvents;
}

/** What the direct path of stream events takes from the pipeline (wired in app.ts). */
export interface DirectEvents {
  /** An event's result for the operation of `context`, shared by its cohort (live/shared-execution.ts). */
  result(context: object, event: object): SharedResult | undefined;
  /** Counts a delivery as the per-message hooks would: shared execution's reuse, the operation log's messages. */
  delivered(context: object, shared: SharedResult): void;
  /** MAX_RESPONSE_BYTES: a larger result goes through graphql-ws, where the guard refuses it. */
  maxResponseBytes: number;
}

interface Enveloped {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

/** What this server keeps per connection in graphql-ws's `extra`. */
interface Extra {
  socket: import("ws").WebSocket;
  request: IncomingMessage;
  caller?: Caller;
  /** Operation ids counted against the key. */
  counted?: Set<string>;
}

/** Runs an operation in a request scope named by the caller in its context. */
function inOperationScope<T>(args: ExecutionArgs, run: () => T): T {
  return inRequestScope((scope) => {
    const caller = (args.contextValue as { caller?: Caller } | undefined)?.caller;
    if (caller) scope.key = caller.name;
    return run();
  });
}

/** An error as sent to a client, without Yoga's `extensions.http` (status and headers). */
function formatWithoutHttp(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (!formatted.extensions || !("http" in formatted.extensions)) return formatted;
  const { http: _http, ...extensions } = formatted.extensions;
  return { ...formatted, extensions };
}

export function createWsServer(options: WsServerOptions) {
  const {
    server,
    yoga,
    path = "/graphql",
    transport,
    admission,
    maxPayloadBytes,
    maxSubscriptionsPerConnection,
    maxSubscriptionsPerKey,
    maxBufferedBytes = 8 * 1024 * 1024,
    keepAliveMs = 12_000,
    onRefusal,
    directEvents,
  } = options;
  const wss = new WebSocketServer({
    server,
    path,
    maxPayload: maxPayloadBytes,
    // Stage 1 for upgrades: a foreign Host or Origin gets a 403 and no socket.
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const headers = nodeHeaders(info.req);
      const refusal = transport.host(headers) ?? transport.origin(headers);
      if (refusal) {
        onRefusal?.(refusal, { transport: "ws", remote: info.req.socket.remoteAddress });
        done(false, 403, refusal.message);
      } else done(true);
    },
  });
  // Messages sent to a socket in one turn of the event loop leave in one write: a batch of 10,000
  // trades is one syscall per subscriber, not 10,000 (each cost ~15 µs of the event loop).
  // `next` payloads are serialised once per result for all its subscribers (sharedPayloads below).
  const shared = createSharedPayloads();
  /** Each socket's send in bursts, without the shared-payload substitution (the direct path's). */
  const writers = new WeakMap<import("ws").WebSocket, (text: string) => void>();
  wss.on("connection", (socket) => {
    const write = sendInBursts(socket, shared);
    if (write) writers.set(socket, write);
  });
  const perKey = new Map<string, number>();
  const release = (extra: Extra, id: string) => {
    if (!extra.counted?.delete(id) || !extra.caller) return;
    const left = (perKey.get(extra.caller.name) ?? 1) - 1;
    if (left <= 0) perKey.delete(extra.caller.name);
    else perKey.set(extra.caller.name, left);
  };

  const disposable = useServer(
    {
      // Each operation runs in a request scope of its own: its log lines carry its id and the key's name.
      execute: (args) => inOperationScope(args, () => (args.rootValue as Enveloped).execute(args)),
      subscribe: (args) => inOperationScope(args, () => (args.rootValue as Enveloped).subscribe(args)),
      onConnect: (ctx) => {
        const extra = ctx.extra as Extra;
        const param = ctx.connectionParams?.authorization;
        const presented = typeof param === "string" ? param : extra.request.headers.authorization;
        const caller = admission.authenticate(presented);
        if (caller instanceof Error) {
          onRefusal?.(caller, { transport: "ws", remote: extra.request.socket.remoteAddress });
          // graphql-ws closes with 4403 when onConnect returns false; a missing key gets 4401.
          if (caller.message === MISSING_KEY_MESSAGE)
            extra.socket.close(CLOSE_MISSING_KEY, "Unauthorized: API key required");
          return false;
        }
        extra.caller = caller;
        extra.counted = new Set();
        return true;
      },
      onSubscribe: async (ctx: WsContext<Record<string, unknown> | undefined, Extra>, id, params) => {
        const extra = ctx.extra;
        const caller = extra.caller as Caller;
        const limited = admission.rateLimit(caller);
        if (limited) {
          onRefusal?.(limited, { transport: "ws", key: caller.name, remote: extra.request.socket.remoteAddress });
          return [limited];
        }
        // graphql-ws has registered this id already.
        const open = Object.keys(ctx.subscriptions).length;
        if (open > maxSubscriptionsPerConnection) {
          return [
            new LimitError(
              "MAX_SUBSCRIPTIONS_PER_CONNECTION",
              maxSubscriptionsPerConnection,
              open,
              "The number of operations on this connection",
            ),
          ];
        }
        const ofKey = (perKey.get(caller.name) ?? 0) + 1;
        if (ofKey > maxSubscriptionsPerKey) {
          return [
            new LimitError(
              "MAX_SUBSCRIPTIONS_PER_KEY",
              maxSubscriptionsPerKey,
              ofKey,
              `The number of operations of the key ${caller.name}`,
            ),
          ];
        }
        const socket = extra.socket;
        const write = writers.get(socket);
        let contextValue: object | undefined;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: extra.request,
          socket,
          params,
          caller,
          connectionParams: ctx.connectionParams,
          closeConnection: (code: number, reason: string) => socket.close(code, reason),
          ...(directEvents && write
            ? { directNext: directNext(directEvents, { id, ctx, socket, write, context: () => contextValue }) }
            : {}),
        });
        let document: ReturnType<typeof parse>;
        try {
          document = parse(params.query);
        } catch (error) {
          if (!(error instanceof GraphQLError)) {
            return [clientError("GRAPHQL_PARSE_FAILED", "Syntax Error: the query does not parse")];
          }
          // Yoga gives a syntax error its code only on HTTP requests (usePreventMutationViaGET),
          // so a document no HTTP request parsed first would reach a WebSocket client without one.
          return [error.extensions.code ? error : withCode(error, "GRAPHQL_PARSE_FAILED")];
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        perKey.set(caller.name, ofKey);
        extra.counted?.add(id);
        contextValue = await contextFactory();
        return {
          schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      // Yoga strips its internal `extensions.http` from HTTP answers; so do these.
      onError: (_ctx, _id, _payload, errors) => errors.map(formatWithoutHttp),
      onNext: (ctx, _id, _payload, _args, result) => {
        if (!result.errors) return shared.placeholder((ctx.extra as Extra).socket, result);
        const { data, extensions } = result;
        return {
          ...(data !== undefined ? { data } : {}),
          errors: result.errors.map(formatWithoutHttp),
          ...(extensions !== undefined ? { extensions } : {}),
        };
      },
      onComplete: (ctx, id) => release(ctx.extra as Extra, id),
      onClose: (ctx) => {
        const extra = ctx.extra as Extra;
        for (const id of [...(extra.counted ?? [])]) release(extra, id);
      },
      // An unexpected error closes the socket with 4500 and the reason "Internal server error",
      // never the error's message, whatever NODE_ENV says (as Yoga masks errors over HTTP).
      isProd: true,
    },
    wss,
    keepAliveMs,
  );
  // The socket's own outgoing buffer is bounded too: a peer that stops reading is dropped.
  const guard = setInterval(() => {
    for (const client of wss.clients) {
      if (client.bufferedAmount > maxBufferedBytes) client.close(4429, "Slow consumer: outgoing buffer full");
    }
  }, 500);
  guard.unref();
  return {
    wss,
    /** Operations open per key (tests read it). */
    openPerKey: () => new Map(perKey),
    async close() {
      clearInterval(guard);
      await disposable.dispose();
      await new Promise<void>((done) => wss.close(() => done()));
    },
  };
}

/**
 * The JSON text of a `next` payload, made once per result and shared by every subscriber that
 * receives it (live/shared-execution.ts hands them all the same result object). graphql-ws
 * serialises `{ id, type, payload }` with JSON.stringify for each subscriber; onNext gives it a
 * placeholder payload instead, `{"\u0000shared":<n>}`, and the socket's send puts the shared text
 * in its place: the same bytes graphql-ws would have sent, since JSON.stringify writes an
 * object's value as it writes that value alone.
 */
function createSharedPayloads() {
  const texts = new WeakMap<object, string>();
  const waiting = new WeakMap<import("ws").WebSocket, Map<number, string>>();
  let seq = 0;
  return {
    /** What onNext returns for a result without errors (graphql-ws sends `result` minus `errors`). */
    placeholder(
      socket: import("ws").WebSocket,
      result: { readonly errors?: unknown } & object,
    ): Record<string, number> {
      let text = texts.get(result);
      if (text === undefined) {
        const { errors: _errors, ...withoutErrors } = result;
        // The size check (guard/operation.ts) serialised the result already; without `errors`
        // its text is the same.
        text = (result.errors === undefined && serializedResults.get(result)) || JSON.stringify(withoutErrors);
        texts.set(result, text);
      }
      let mine = waiting.get(socket);
      if (!mine) {
        mine = new Map();
        waiting.set(socket, mine);
      }
      const n = seq++;
      mine.set(n, text);
      return { [PLACEHOLDER_KEY]: n };
    },
    /** `data` with a placeholder payload replaced by its text. */
    substitute(socket: import("ws").WebSocket, data: unknown): unknown {
      if (typeof data !== "string" || !data.endsWith("}}")) return data;
      const mine = waiting.get(socket);
      if (!mine || mine.size === 0) return data;
      // A client's id is a JSON string in which a quote is escaped: the marker can't be forged.
      const at = data.lastIndexOf(PLACEHOLDER_MARK);
      if (at < 0) return data;
      const n = Number(data.slice(at + PLACEHOLDER_MARK.length, -2));
      const text = mine.get(n);
      if (text === undefined) return data;
      mine.delete(n);
      return `${data.slice(0, at)},"payload":${text}}`;
    },
  };
}

/**
 * context.directNext of operation `id` (WsServerOptions.directEvents). It writes only while
 * graphql-ws holds the operation (nothing after its `complete` or the socket's close), and it is
 * called only while the operation's iterator waits for its next value (createChannel's pushAll),
 * so that its messages keep their order among those graphql-ws sends.
 */
function directNext(
  events: DirectEvents,
  operation: {
    id: string;
    ctx: WsContext<Record<string, unknown> | undefined, Extra>;
    socket: import("ws").WebSocket;
    write: (text: string) => void;
    context: () => object | undefined;
  },
): (event: unknown) => boolean {
  const { id, ctx, socket, write } = operation;
  // graphql-ws's message: JSON.stringify({ id, type: "next", payload }), with the payload's text.
  const head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
  return (event) => {
    const context = operation.context();
    if (!context || !(id in ctx.subscriptions) || typeof event !== "object" || event === null) return false;
    let shared: SharedResult | undefined;
    let text: string | number;
    try {
      shared = events.result(context, event);
      // Errors are masked and reformatted on graphql-ws's path (onNext above, Yoga's masking).
      if (!shared || shared.result instanceof Promise || shared.result.errors) return false;
      text = boundedText(shared.result, events.maxResponseBytes);
    } catch {
      // What threw here (JSON.stringify of an odd value) throws there too, and is reported as ever.
      return false;
    }
    if (typeof text !== "string") return false;
    events.delivered(context, shared);
    // As graphql-ws's send (graphql-ws/use/ws): nothing to a socket that is closing.
    if (socket.readyState === socket.OPEN) write(`${head}${text}}`);
    return true;
  };
}

const PLACEHOLDER_KEY = "\u0000shared";
const PLACEHOLDER_MARK = `,"payload":{${JSON.stringify(PLACEHOLDER_KEY)}:`;

/**
 * Corks a socket at its first send in a turn of the event loop and uncorks it after that turn,
 * and answers a send's callback at once instead of after the write: graphql-ws awaits each
 * message's callback before it sends the next, which made a burst cost one syscall and one turn
 * of the event loop per message. Back-pressure stays with the outgoing-buffer guard above (a peer
 * that stops reading is closed with 4429) and LIVE_MAX_QUEUED. Returns the socket's send in
 * bursts without the shared-payload substitution (what the direct path writes is complete).
 */
function sendInBursts(
  socket: import("ws").WebSocket,
  shared: ReturnType<typeof createSharedPayloads>,
): ((text: string) => void) | undefined {
  const raw = (socket as unknown as { _socket?: import("node:net").Socket })._socket;
  if (!raw) return undefined;
  const send = socket.send.bind(socket) as (data: unknown, options?: unknown, cb?: unknown) => void;
  let corked = false;
  const uncork = () => {
    corked = false;
    raw.uncork();
  };
  const write = (data: unknown, options?: unknown) => {
    if (!corked && raw.writable) {
      corked = true;
      raw.cork();
      setImmediate(uncork);
    }
    send(data, options);
  };
  socket.send = ((data: unknown, optionsOrCb?: unknown, cb?: unknown) => {
    const text = shared.substitute(socket, data);
    const callback = typeof cb === "function" ? cb : typeof optionsOrCb === "function" ? optionsOrCb : undefined;
    if (!callback) return write(text, optionsOrCb);
    write(text, typeof optionsOrCb === "function" ? undefined : optionsOrCb);
    // At once: graphql-ws's next message waits for this (a promise it awaits).
    (callback as (error?: Error) => void)();
  }) as typeof socket.send;
  return write;
}
