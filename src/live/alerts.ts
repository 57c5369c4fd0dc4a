// Alert rules evaluated on a timer; firing and resolved events with hysteresis, stored in
// alert_events (through the batch writer) and pushed to `alerts` subscribers.
import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import type { BatchWriter } from "../ingest/batch-writer.ts";
import { MAX_AMOUNT, nameProblem } from "../ingest/validation.ts";
import type { TableNames } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros, nowMicros } from "../time.ts";

export const ALERT_KINDS = ["LATENCY_P99", "SANDWICH_RATE", "NO_TRADES", "QUEUE_DEPTH"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertRuleInput {
  id?: string | null | undefined;
  kind: AlertKind;
  /** LATENCY_P99: the stage. */
  stage?: string | null | undefined;
  /** LATENCY_P99 and SANDWICH_RATE: the window. Default 60. */
  windowSeconds?: number | null | undefined;
  /** LATENCY_P99: ms; SANDWICH_RATE: percent; NO_TRADES: seconds; QUEUE_DEPTH: rows. */
  threshold: number;
  /** Resolve once the value is below threshold × (1 − hysteresis). Default 0.1. */
  hysteresis?: number | null | undefined;
}

export interface AlertRule {
  id: string;
  kind: AlertKind;
  stage: string | null;
  windowSeconds: number;
  threshold: number;
  hysteresis: number;
}

export interface AlertEvent {
  eventId: string;
  ruleId: string;
  kind: AlertKind;
  state: "FIRING" | "RESOLVED";
  value: number;
  threshold: number;
  at: Micros;
  message: string;
}

const RULE_ID = /^[A-Za-z0-9_.:-]+$/;

/** The reason a rule id is refused, or undefined: 1 to 64 letters, digits and _ . : - (length first). */
export function ruleIdProblem(id: string): string | undefined {
  return id.length === 0 || id.length > 64 || !RULE_ID.test(id) ? "1 to 64 letters, digits and _ . : -" : undefined;
}

/** Returns the problems of a rule (field: reason), empty when it is valid. */
export function checkAlertRule(input: AlertRuleInput): string[] {
  const problems: string[] = [];
  if (input.id != null) {
    const problem = ruleIdProblem(input.id);
    if (problem) problems.push(`id: ${problem}`);
  }
  if (!ALERT_KINDS.includes(input.kind)) problems.push(`kind: expected one of ${ALERT_KINDS.join(", ")}`);
  if (input.stage != null) {
    const problem = nameProblem(input.stage);
    if (problem) problems.push(`stage: ${problem}`);
  } else if (input.kind === "LATENCY_P99") problems.push("stage: required for LATENCY_P99");
  if (!Number.isFinite(input.threshold) || input.threshold < 0 || input.threshold > MAX_AMOUNT) {
    problems.push(`threshold: must be a finite number from 0 to ${MAX_AMOUNT}`);
  }
  const window = input.windowSeconds ?? 60;
  if (!Number.isInteger(window) || window < 1 || window > 86_400) problems.push("windowSeconds: must be 1 to 86400");
  const h = input.hysteresis ?? 0.1;
  if (!Number.isFinite(h) || h < 0 || h >= 1) problems.push("hysteresis: must be from 0 to below 1");
  return problems;
}

export function normaliseRule(input: AlertRuleInput): AlertRule {
  return {
    id: input.id ?? randomUUID(),
    kind: input.kind,
    stage: input.stage ?? null,
    windowSeconds: input.windowSeconds ?? 60,
    threshold: input.threshold,
    hysteresis: input.hysteresis ?? 0.1,
  };
}

export interface AlertEngine {
  rules(): AlertRule[];
  upsert(rule: AlertRule): void;
  remove(id: string): boolean;
  /** Evaluates every rule now; returns the events raised. */
  evaluate(): Promise<AlertEvent[]>;
  listen(listener: (event: AlertEvent) => void): () => void;
  stop(): void;
}

export function createAlertEngine(options: {
  pool: pg.Pool;
  tables: TableNames;
  writer: BatchWriter;
  instance: string;
  rules: readonly AlertRule[];
  intervalMs: number;
  log: Logger;
}): AlertEngine {
  const { pool, tables, writer, instance, intervalMs, log } = options;
  const rules = new Map(options.rules.map((r) => [r.id, r]));
  const firing = new Set<string>();
  const listeners = new Set<(event: AlertEvent) => void>();

  const measure = async (rule: AlertRule, now: Micros): Promise<number | null> => {
    const since = formatIsoMicros(now - BigInt(rule.windowSeconds) * 1_000_000n);
    switch (rule.kind) {
      case "LATENCY_P99": {
        const r = await pool.query<{ p99: number | null; n: bigint }>(
          `SELECT count() n, approx_percentile(latency_us, 0.99, 3) p99 FROM ${tables.latency_metrics} WHERE timestamp >= $1 AND stage = $2`,
          [since, rule.stage],
        );
        const row = r.rows[0];
        return row && row.n > 0n && row.p99 !== null ? row.p99 / 1000 : null;
      }
      case "SANDWICH_RATE": {
        const r = await pool.query<{ n: bigint; s: bigint }>(
          `SELECT count() n, sum(CASE WHEN mev_status = 'SANDWICHED' THEN 1 ELSE 0 END) s FROM ${tables.trades} WHERE timestamp >= $1`,
          [since],
        );
        const row = r.rows[0];
        return row && row.n > 0n ? (Number(row.s) / Number(row.n)) * 100 : null;
      }
      case "NO_TRADES": {
        const r = await pool.query<{ last: bigint | null }>(
          `SELECT max(timestamp) last FROM ${tables.trades} WHERE timestamp >= $1`,
          [formatIsoMicros(now - 86_400_000_000n)],
        );
        const last = r.rows[0]?.last ?? null;
        return last === null ? 86_400 : Number(now - last) / 1_000_000;
      }
      case "QUEUE_DEPTH": {
        const s = writer.stats();
        return s.queuedRows + s.inFlightRows;
      }
    }
  };

  const evaluate = async (): Promise<AlertEvent[]> => {
    const now = nowMicros();
    const events: AlertEvent[] = [];
    for (const rule of rules.values()) {
      let value: number | null;
      try {
        value = await measure(rule, now);
      } catch (error) {
        log.warn(
          { err: error instanceof Error ? error.message : String(error), rule: rule.id },
          "alert rule not evaluated",
        );
        continue;
      }
      if (value === null) continue;
      const isFiring = firing.has(rule.id);
      let state: AlertEvent["state"] | undefined;
      if (!isFiring && value > rule.threshold) state = "FIRING";
      else if (isFiring && value <= rule.threshold * (1 - rule.hysteresis)) state = "RESOLVED";
      if (!state) continue;
      if (state === "FIRING") firing.add(rule.id);
      else firing.delete(rule.id);
      const what =
        rule.kind === "LATENCY_P99" ? `p99 latency of ${rule.stage}` : rule.kind.toLowerCase().replace("_", " ");
      events.push({
        eventId: randomUUID(),
        ruleId: rule.id,
        kind: rule.kind,
        state,
        value,
        threshold: rule.threshold,
        at: now,
        message: `${what} is ${value.toFixed(2)} (threshold ${rule.threshold}): ${state.toLowerCase()}`,
      });
    }
    for (const event of events) {
      const table = tables.alert_events;
      try {
        writer.enqueue([
          {
            table,
            encode: (b) =>
              b
                .table(table)
                .symbol("rule_id", event.ruleId)
                .symbol("kind", event.kind)
                .symbol("state", event.state)
                .symbol("instance", instance)
                .stringColumn("event_id", event.eventId)
                .floatColumn("value", event.value)
                .floatColumn("threshold", event.threshold)
                .stringColumn("message", event.message)
                .at(event.at, "us"),
          },
        ]);
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert event not stored");
      }
      for (const listener of listeners) listener(event);
    }
    return events;
  };

  let running = false;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          if (running) return;
          running = true;
          void evaluate().finally(() => {
            running = false;
          });
        }, intervalMs)
      : undefined;
  timer?.unref();

  return {
    rules: () => [...rules.values()],
    upsert: (rule) => {
      rules.set(rule.id, rule);
      firing.delete(rule.id);
    },
    remove: (id) => {
      firing.delete(id);
      return rules.delete(id);
    },
    evaluate,
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => {
      if (timer) clearInterval(timer);
      listeners.clear();
    },
  };
}
