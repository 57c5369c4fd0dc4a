// Subscribers of one cohort receive the very same event object (a Trade, a LiveMetrics value,
// an AlertEvent). graphql-js would execute the selection set once per subscriber per event;
// this plugin executes it once per event, document and variables, and hands the same result to
// every subscriber: with 100 subscribers on a query, 1 execution instead of 100. The same result
// serves the deliveries that skip the subscription's iterator (eventResult, live/ws-server.ts).
import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, execute } from "graphql";
import type { Plugin } from "graphql-yoga";

type Result = ExecutionResult | Promise<ExecutionResult>;

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * `source` with `map` applied to each value. Without async functions: a value mapped at once (a
 * result another subscriber's execution made) costs one promise, not three; this runs once per
 * subscriber per event.
 */
function mapAsync<T, R>(source: AsyncIterable<T>, map: (value: T) => R | Promise<R>): AsyncIterableIterator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const step = (value: R | Promise<R>): IteratorResult<R> | Promise<IteratorResult<R>> =>
    value instanceof Promise ? value.then((v) => ({ value: v, done: false })) : { value, done: false };
  const mapped: AsyncIterableIterator<R> = {
    next() {
      return iterator.next().then((s) => (s.done ? DONE : step(map(s.value))));
    },
    async return() {
      await iterator.return?.();
      return DONE;
    },
    async throw(error: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}

export interface SharedExecutionCounts {
  /** Selection sets executed for subscription events. */
  executions: number;
  /** Deliveries that reused another subscriber's execution. */
  reused: number;
}

export interface SharedExecutionOptions {
  /** The context an event is executed with, made from the subscription's (default: the same). */
  eventContext?: (context: unknown) => unknown;
}

/** An event's result for one document and key, and how many deliveries it had. */
export interface SharedResult {
  readonly result: Result;
  deliveries: number;
}

export interface SharedExecution {
  counts: SharedExecutionCounts;
  /**
   * The result of `event` for the subscription whose context is `context`, executed once for all
   * that share it; undefined for a context no subscription started here. For deliveries that skip
   * the subscription's iterator (live/ws-server.ts), which count theirs with `delivered`.
   */
  eventResult(context: object, event: object): SharedResult | undefined;
  /** Counts a delivery of `shared`: reused after its first. */
  delivered(shared: SharedResult): void;
}

export function useSharedSubscriptionExecution(options: SharedExecutionOptions = {}): Plugin & SharedExecution {
  const eventContext = options.eventContext ?? ((context: unknown) => context);
  const counts: SharedExecutionCounts = { executions: 0, reused: 0 };
  // event → document → variables/operation/role → result. Weak on the event: gone with it.
  const memo = new WeakMap<object, WeakMap<DocumentNode, Map<string, SharedResult>>>();
  /** Each subscription's lookup of an event's result, by its context. */
  const lookups = new WeakMap<object, (event: object) => SharedResult>();
  const delivered = (shared: SharedResult) => {
    if (shared.deliveries++ > 0) counts.reused++;
  };

  const subscribe = async (args: ExecutionArgs) => {
    const role = (args.contextValue as { caller?: { role?: string } } | undefined)?.caller?.role ?? "";
    const key = JSON.stringify([args.operationName ?? null, args.variableValues ?? null, role]);
    const run = (payload: unknown) =>
      execute({ ...args, rootValue: payload, contextValue: eventContext(args.contextValue) });
    const lookup = (payload: object) => {
      let byDocument = memo.get(payload);
      if (!byDocument) {
        byDocument = new WeakMap();
        memo.set(payload, byDocument);
      }
      let byKey = byDocument.get(args.document);
      if (!byKey) {
        byKey = new Map();
        byDocument.set(args.document, byKey);
      }
      let shared = byKey.get(key);
      if (!shared) {
        counts.executions++;
        shared = { result: run(payload), deliveries: 0 };
        byKey.set(key, shared);
      }
      return shared;
    };
    // Set before the source stream starts: its first event may be delivered directly.
    if (typeof args.contextValue === "object" && args.contextValue !== null) lookups.set(args.contextValue, lookup);
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
    return mapAsync(source as AsyncIterable<unknown>, (payload) => {
      if (typeof payload !== "object" || payload === null) return run(payload);
      const shared = lookup(payload);
      delivered(shared);
      return shared.result;
    });
  };

  return {
    counts,
    eventResult: (context, event) => lookups.get(context)?.(event),
    delivered,
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as Parameters<typeof setSubscribeFn>[0]);
    },
  };
}
