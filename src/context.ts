import type pg from "pg";
import type { Caller } from "./http/auth.ts";
import type { BatchWriter } from "./ingest/batch-writer.ts";
import type { ValidationLimits } from "./ingest/validation.ts";
import type { AlertEngine } from "./live/alerts.ts";
import type { LiveQueries } from "./live/live-queries.ts";
import type { TableNames } from "./questdb/tables.ts";

/** Long-lived services, made once by buildApp and shared by every request. */
export interface Services {
  pool: pg.Pool;
  writer: BatchWriter;
  tables: TableNames;
  limits: ValidationLimits;
  /** Largest list a bulk mutation accepts. */
  maxRecordsPerRequest: number;
  live: LiveQueries;
  alerts: AlertEngine;
  /** LIVE_LATE_ROWS_MS and LIVE_MAX_QUEUED. */
  liveLimits: { lateRowsMs: number; maxQueued: number };
}

/** Per-request GraphQL context. */
export interface Context {
  services: Services;
  /** Set by the auth plugin for every transport. */
  caller?: Caller;
  /** Over WebSockets: closes this client's connection (slow consumers). */
  closeConnection?: (code: number, reason: string) => void;
}
