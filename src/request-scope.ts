// Which request a log line belongs to (issue 14, point 5). The HTTP entry and the WebSocket
// server run each request (each WebSocket operation) inside a scope holding its id and, once the
// key is known, the key's name (never the key); the logger (logger.ts) adds both to every line
// written inside the scope, whichever component writes it. Clients see the id in the response
// header `x-request-id`.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

export interface RequestScope {
  reqId: string;
  /** The API key's name, once authenticated. */
  key?: string;
  /**
   * A write's admission (its slot and row reservation, src/guard/load.ts), let go once its rows
   * are queued: a COMMITTED call then waits for QuestDB without holding a slot.
   */
  onRowsQueued?: () => void;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** The response header that carries the request id. */
export const REQUEST_ID_HEADER = "x-request-id";

/** Runs `fn` in a new request's scope; returns what it returns. */
export function inRequestScope<T>(fn: (scope: RequestScope) => T, reqId: string = randomUUID()): T {
  const scope: RequestScope = { reqId };
  return storage.run(scope, () => fn(scope));
}

/** The scope of the request running now, if any (the fields the logger adds to its lines). */
export const currentRequest = (): RequestScope | undefined => storage.getStore();

/**
 * `fn` bound to the current request's scope: for event listeners (a request's `data` and `end`
 * run in the socket's async context, not in the scope that registered them). Only this scope is
 * restored (nothing else of the request's async context is read by what they run): Node 20's
 * `AsyncLocalStorage.bind` and `snapshot` each make an AsyncResource and two deprecation
 * wrappers per call, ~5 % of the main thread's time under 2,000 one-row writes a second.
 */
export const bindToRequest = <F extends (...args: never[]) => unknown>(fn: F): F => {
  const scope = storage.getStore();
  if (scope === undefined) return fn;
  return ((...args: Parameters<F>) => storage.run(scope, fn, ...args)) as unknown as F;
};
