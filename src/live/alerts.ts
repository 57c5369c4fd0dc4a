// Alert rules, each evaluated on a timer of its own (issue 12: a slow, failing or hanging
// statement delays only its own rule); firing and resolved events with hysteresis, stored in
// alert_events (through the batch writer) and pushed to `alerts` subscribers.
import { randomUUID } from "node:crypto";
import type { SenderBuffer } from "@questdb/nodejs-client";
import type { Logger } from "pino";
import type { SqlRunner } from "../analytics/sql.ts";
import { type BatchWriter, QueueFullError } from "../ingest/batch-writer.ts";
import { encodeRows, type QueuedRow } from "../ingest/encoded-rows.ts";
import { MAX_AMOUNT, nameProblem } from "../ingest/validation.ts";
import type { TableNames } from "../questdb/tables.ts";
import { type Micros, nowMicros } from "../time.ts";
import { measureRule } from "./alert-measures.ts";

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
  /** Adds or replaces a rule (it starts again as not firing, on a timer of its own). */
  upsert(rule: AlertRule): void;
  remove(id: string): boolean;
  /** Evaluates every rule now, each independently of the others; returns the events raised. */
  evaluate(): Promise<AlertEvent[]>;
  listen(listener: (event: AlertEvent) => void): () => void;
  stop(): void;
}

export interface AlertEngineOptions {
  /** Runs the rules' statements (named `alerts.<kind>`). */
  sql: SqlRunner;
  tables: TableNames;
  /** Stores the events (alert_events) and gives QUEUE_DEPTH its value. */
  writer: BatchWriter;
  /** An ILP buffer, to queue an event when the writer's queue is full. */
  newBuffer: () => SenderBuffer;
  /** This instance's name in alert_events. */
  instance: string;
  rules: readonly AlertRule[];
  /**
   * How often each rule is evaluated, on a timer of its own: a rule is evaluated again this long
   * after its previous evaluation started, or at once when that one took longer. 0: only when
   * `evaluate()` is called.
   */
  intervalMs: number;
  /**
   * Client-side deadline of a rule's statement, the wait for a connection included; past it the
   * evaluation fails (logged at warn) and the connection is destroyed. The rule is evaluated again
   * at its next turn.
   */
  statementTimeoutMs: number;
  log: Logger;
}

export function createAlertEngine(options: AlertEngineOptions): AlertEngine {
  const { sql, tables, writer, newBuffer, instance, intervalMs, statementTimeoutMs, log } = options;
  const rules = new Map(options.rules.map((r) => [r.id, r]));
  const firing = new Set<string>();
  const listeners = new Set<(event: AlertEvent) => void>();
  /** The evaluation of each rule in progress: one rule is never evaluated twice at once. */
  const inProgress = new Map<string, Promise<AlertEvent | undefined>>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  const measures = { sql, tables, writer, deadlineMs: statementTimeoutMs };

  const raise = (event: AlertEvent) => {
    const table = tables.alert_events;
    const rows: QueuedRow[] = [
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
    ];
    try {
      try {
        writer.enqueue(rows);
      } catch (error) {
        // A full queue is when a QUEUE_DEPTH event matters most: one row per change of state is
        // queued past MAX_QUEUE_ROWS (as the spool's replay is) rather than lost.
        if (!(error instanceof QueueFullError)) throw error;
        writer.reserve(1, { force: true }).enqueueEncoded(encodeRows(rows, newBuffer));
      }
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert event not stored");
    }
    for (const listener of listeners) listener(event);
  };

  /** Measures one rule and applies the hysteresis; the event raised, if any. */
  const evaluateOnce = async (rule: AlertRule): Promise<AlertEvent | undefined> => {
    const now = nowMicros();
    let value: number | null;
    try {
      value = await measureRule(rule, now, measures);
    } catch (error) {
      log.warn(
        { err: error instanceof Error ? error.message : String(error), rule: rule.id },
        "alert rule not evaluated",
      );
      return undefined;
    }
    // Replaced or removed while its statement ran (the answer belongs to a rule that is gone), or
    // the engine stopped (the writer may be closed).
    if (value === null || rules.get(rule.id) !== rule || stopped) return undefined;
    const isFiring = firing.has(rule.id);
    let state: AlertEvent["state"] | undefined;
    if (!isFiring && value > rule.threshold) state = "FIRING";
    else if (isFiring && value <= rule.threshold * (1 - rule.hysteresis)) state = "RESOLVED";
    if (!state) return undefined;
    if (state === "FIRING") firing.add(rule.id);
    else firing.delete(rule.id);
    const what =
      rule.kind === "LATENCY_P99" ? `p99 latency of ${rule.stage}` : rule.kind.toLowerCase().replace("_", " ");
    const event: AlertEvent = {
      eventId: randomUUID(),
      ruleId: rule.id,
      kind: rule.kind,
      state,
      value,
      threshold: rule.threshold,
      at: now,
      message: `${what} is ${value.toFixed(2)} (threshold ${rule.threshold}): ${state.toLowerCase()}`,
    };
    raise(event);
    return event;
  };

  /** Evaluates a rule after its evaluation in progress, if any. */
  const evaluateRule = (rule: AlertRule): Promise<AlertEvent | undefined> => {
    const previous = inProgress.get(rule.id);
    const next = (previous ?? Promise.resolve()).then(() => evaluateOnce(rule));
    inProgress.set(rule.id, next);
    void next.finally(() => {
      if (inProgress.get(rule.id) === next) inProgress.delete(rule.id);
    });
    return next;
  };

  /** The rule's own timer: the next evaluation `intervalMs` after this one started. */
  const schedule = (id: string, delayMs: number) => {
    if (intervalMs <= 0 || stopped) return;
    const timer = setTimeout(async () => {
      const rule = rules.get(id);
      if (!rule || timers.get(id) !== timer) return;
      const started = performance.now();
      await evaluateRule(rule);
      if (rules.get(id) === rule && timers.get(id) === timer) {
        schedule(id, Math.max(0, intervalMs - (performance.now() - started)));
      }
    }, delayMs);
    timer.unref();
    timers.set(id, timer);
  };
  const unschedule = (id: string) => {
    clearTimeout(timers.get(id));
    timers.delete(id);
  };
  for (const id of rules.keys()) schedule(id, intervalMs);

  return {
    rules: () => [...rules.values()],
    upsert: (rule) => {
      rules.set(rule.id, rule);
      firing.delete(rule.id);
      unschedule(rule.id);
      schedule(rule.id, intervalMs);
    },
    remove: (id) => {
      firing.delete(id);
      unschedule(id);
      return rules.delete(id);
    },
    evaluate: async () => {
      const events = await Promise.all([...rules.values()].map(evaluateRule));
      return events.filter((event) => event !== undefined);
    },
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () => {
      stopped = true;
      for (const id of [...timers.keys()]) unschedule(id);
      listeners.clear();
    },
  };
}
