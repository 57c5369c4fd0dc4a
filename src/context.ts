import DataLoader from "dataloader";
import type pg from "pg";
import type { QueryCache, RequestReads } from "./analytics/cache.ts";
import type { HourSummaries } from "./analytics/drawdown-periods.ts";
import type { Rollups } from "./analytics/rollup-coverage.ts";
import type { SqlRunner } from "./analytics/sql.ts";
import { linkKey, loadLatencyByTrade, loadMevByTrade, type TradeKey } from "./analytics/trade-links.ts";
import type { Caller } from "./http/auth.ts";
import type { SplicedLists } from "./http/spliced-lists.ts";
import type { BatchWriter, Ticket } from "./ingest/batch-writer.ts";
import type { EncodedRows } from "./ingest/encoded-rows.ts";
import type { ValidationLimits } from "./ingest/validation.ts";
import type { AlertEngine } from "./live/alerts.ts";
import type { LiveQueries } from "./live/live-queries.ts";
import type { IlpBuffer } from "./questdb/ilp-buffer.ts";
import type { LatencyMetric } from "./questdb/latency-table.ts";
import type { MevMetric } from "./questdb/mev-table.ts";
import type { TableNames } from "./questdb/tables.ts";
import type { TxnWatch } from "./questdb/txn-watch.ts";

/** Where record mutations queue rows: the batch writer, or in a write worker the main thread's. */
export interface RowSink {
  /** Queues encoded rows (all or none); throws (or rejects with) QueueFullError or WriterClosedError. */
  enqueueEncoded(chunks: readonly EncodedRows[]): Ticket | Promise<Ticket>;
}

/** Long-lived services, made once by buildApp and shared by every request. */
export interface Services {
  pool: pg.Pool;
  writer: BatchWriter;
  /** A fresh ILP row buffer as the writer's client makes them (one function, so encodeRows reuses its buffer). */
  newIlpBuffer: () => IlpBuffer;
  /** Where record mutations queue their rows (`writer` on the main thread). */
  sink: RowSink;
  tables: TableNames;
  /** The drawdown's hourly summaries, each under the fingerprint of its hour (analytics/drawdown-periods.ts). */
  drawdownHours: HourSummaries;
  limits: ValidationLimits;
  /** Largest list a bulk mutation accepts. */
  maxRecordsPerRequest: number;
  /** Largest trades page (MAX_PAGE_SIZE). */
  maxPageSize: number;
  /** MAX_RESULT_ROWS: the largest analytics answer, and the most rows one statement brings into Node. */
  maxResultRows: number;
  live: LiveQueries;
  alerts: AlertEngine;
  /** LIVE_LATE_ROWS_MS and LIVE_MAX_QUEUED. */
  liveLimits: { lateRowsMs: number; maxQueued: number };
  /** The only way analytics code runs SQL (timed, logged, counted). */
  sql: SqlRunner;
  /** Query results tied to the tables and time ranges they read; analytics reads go through it. */
  cache: QueryCache;
  /** The base tables and their rollup views, as the statistics queries read them. */
  rollups: Rollups;
  /** The one watcher of table transactions and view refresh state (the cache's, the rollup planner's). */
  txnWatch: TxnWatch;
}

/** Per-request loaders: batch and deduplicate reads made while one GraphQL request resolves. */
export interface Loaders {
  latencyByTrade: DataLoader<TradeKey, LatencyMetric[], string>;
  mevByTrade: DataLoader<TradeKey, MevMetric | null, string>;
  /** Runs `load` once per request for `key`; later calls share its promise. */
  once<T>(key: string, load: () => Promise<T>): Promise<T>;
}

/** Per-request GraphQL context. */
export interface Context {
  services: Services;
  /** Set by the auth plugin for every transport. */
  caller?: Caller;
  /** Over WebSockets: closes this client's connection (slow consumers). */
  closeConnection?: (code: number, reason: string) => void;
  /**
   * Over WebSockets: writes a subscription event's `next` message straight to the socket
   * (live/ws-server.ts); false when it must go through graphql-ws (the subscription's iterator).
   */
  directNext?: (event: unknown) => boolean;
  loaders: Loaders;
  /**
   * Set by the lean HTTP path for a query: bucketed lists may answer closed pieces of their series
   * as JSON text kept from an earlier request (http/spliced-lists.ts). Unset: every row is executed.
   */
  splice?: SplicedLists;
  /**
   * This request's reads through the cache: one transaction probe, every read keyed by it (so a
   * whole response can be cached). Resolvers read through this, not `services.cache`.
   */
  reads: RequestReads;
}

export function createContext(services: Services): Context {
  return { services, ...requestParts(services) };
}

/**
 * The same caller's context with fresh loaders and reads, for one subscription event: a
 * subscription's context lives as long as it does, and an event must not be answered from the
 * probe or the loaders of an earlier one.
 */
export function forEvent(context: Context): Context {
  // Made on first use: most event selections read neither (and events are many).
  let parts: Pick<Context, "loaders" | "reads"> | undefined;
  const made = () => {
    parts ??= requestParts(context.services);
    return parts;
  };
  const event = { ...context };
  Object.defineProperties(event, {
    reads: { get: () => made().reads, enumerable: true },
    loaders: { get: () => made().loaders, enumerable: true },
  });
  return event;
}

function requestParts(services: Services): Pick<Context, "loaders" | "reads"> {
  const { tables } = services;
  const reads = services.cache.forRequest();
  const memo = new Map<string, Promise<unknown>>();
  // No maxBatchSize: a page (at most 1,000 trades) is one statement per field.
  const byLink = { cacheKeyFn: (key: TradeKey) => linkKey(key) };
  return {
    reads,
    loaders: {
      latencyByTrade: new DataLoader(
        (keys) => loadLatencyByTrade(reads, tables.latency_metrics, keys, services.maxResultRows),
        byLink,
      ),
      mevByTrade: new DataLoader(
        (keys) => loadMevByTrade(reads, tables.mev_metrics, keys, services.maxResultRows),
        byLink,
      ),
      once<T>(key: string, load: () => Promise<T>): Promise<T> {
        let promise = memo.get(key) as Promise<T> | undefined;
        if (!promise) {
          promise = load();
          memo.set(key, promise);
        }
        return promise;
      },
    },
  };
}
