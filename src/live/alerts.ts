// Alert rules, each evaluated on a timer of its own (issue 12: a slow, failing or hanging
// statement delays only its own rule); firing and resolved events with hysteresis, stored in
// alert_events (through the batch writer) and pushed to `alerts` subscribers.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { SqlRunner } from "../analytics/sql.ts";
import { type BatchWriter, QueueFullError } from "../ingest/batch-writer.ts";
import { encodeRows, type QueuedRow } from "../ingest/encoded-rows.ts";
import { MAX_AMOUNT, nameProblem } from "../ingest/validation.ts";
import type { IlpBuffer } from "../questdb/ilp-buffer.ts";
import { ALERT_EVENTS } from "../questdb/service-tables.ts";
import type { TableNames } from "../questdb/tables.ts";
import { type Micros, nowMicros } from "../time.ts";
import { measureRule } from "./alert-measures.ts";
import { createAlertStore } from "./alert-store.ts";

export const ALERT_KINDS = ["LATENCY_P99", "SANDWICH_RATE", "NO_TRADES", "QUEUE_DEPTH", "ATTACK_RATE"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * The one unit of each kind's threshold and value, the unit the queries answer in (issue 16):
 * latency in microseconds (latencyStats' p99Us), rates as fractions 0–1 (mevEffectiveness,
 * liveMetrics), durations in seconds, queue depth in rows.
 */
export const ALERT_UNITS = ["MICROSECONDS", "FRACTION", "SECONDS", "ROWS"] as const;
export type AlertUnit = (typeof ALERT_UNITS)[number];
export const UNIT_OF: Readonly<Record<AlertKind, AlertUnit>> = {
  LATENCY_P99: "MICROSECONDS",
  SANDWICH_RATE: "FRACTION",
  NO_TRADES: "SECONDS",
  QUEUE_DEPTH: "ROWS",
  ATTACK_RATE: "FRACTION",
};

/** A value in its kind's unit, as people read it: "250.0 ms", "2.50 %", "12 s", "1,200 rows". */
export function formatInUnit(value: number, unit: AlertUnit): string {
  switch (unit) {
    case "MICROSECONDS":
      return value >= 1_000 ? `${(value / 1_000).toFixed(1)} ms` : `${value.toFixed(0)} µs`;
    case "FRACTION":
      return `${(value * 100).toFixed(2)} %`;
    case "SECONDS":
      return `${value.toFixed(value < 10 ? 1 : 0)} s`;
    case "ROWS":
      return `${Math.round(value)} rows`;
  }
}

export interface AlertRuleInput {
  id?: string | null | undefined;
  kind: AlertKind;
  /** LATENCY_P99: the stage. */
  stage?: string | null | undefined;
  /** LATENCY_P99 and SANDWICH_RATE: the window. Default 60. */
  windowSeconds?: number | null | undefined;
  /** In the kind's unit (UNIT_OF): LATENCY_P99 µs; SANDWICH_RATE a fraction 0–1; NO_TRADES s; QUEUE_DEPTH rows. */
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
  const thresholdProblem = checkThreshold(input.kind, input.threshold);
  if (thresholdProblem) problems.push(`threshold: ${thresholdProblem}`);
  const window = input.windowSeconds ?? 60;
  if (!Number.isInteger(window) || window < 1 || window > 86_400) problems.push("windowSeconds: must be 1 to 86400");
  const h = input.hysteresis ?? 0.1;
  if (!Number.isFinite(h) || h < 0 || h >= 1) problems.push("hysteresis: must be from 0 to below 1");
  return problems;
}

/** The reason a threshold is refused for its kind, naming the unit it is read in. */
function checkThreshold(kind: AlertKind, threshold: number): string | undefined {
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > MAX_AMOUNT) {
    return `must be a finite number from 0 to ${MAX_AMOUNT}`;
  }
  if (UNIT_OF[kind] === "FRACTION" && threshold > 1) {
    // 2 meant as 2 % would silently never fire: say what was probably meant.
    return `${kind} thresholds are fractions from 0 to 1 (0.02 is 2 %); ${threshold} looks like a percentage, did you mean ${threshold / 100}?`;
  }
  if (UNIT_OF[kind] === "ROWS" && !Number.isInteger(threshold)) return "QUEUE_DEPTH thresholds are whole rows";
  return undefined;
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

/**
 * Who evaluates what, with several instances on one QuestDB (docs/scaling.md): the SQL rules
 * (LATENCY_P99, SANDWICH_RATE, NO_TRADES) judge shared tables, so one instance at a time, the
 * leader, evaluates them; QUEUE_DEPTH judges each instance's own queue, so every instance
 * evaluates it for itself (its events name the instance).
 */
export const judgesOwnInstance = (kind: AlertKind): boolean => kind === "QUEUE_DEPTH";

export interface AlertEngine {
  /** The rules as this instance last synchronised them (changes elsewhere arrive within ALERT_SYNC_MS). */
  rules(): AlertRule[];
  /** Stores a rule (it starts again as not firing) for every instance; resolves once stored. */
  upsert(rule: AlertRule): Promise<void>;
  /** Stores a rule's deletion; false when there was no rule with that id. */
  remove(id: string): Promise<boolean>;
  /**
   * Synchronises with the other instances, then evaluates every rule this instance is in charge
   * of (all of them with ALERT_INTERVAL_MS=0, which takes no part in the election); returns the
   * events raised.
   */
  evaluate(): Promise<AlertEvent[]>;
  /** Whether this instance evaluates the SQL rules now. */
  isLeader(): boolean;
  /** Events this instance raises, as it raises them (others' arrive through alert_events). */
  listen(listener: (event: AlertEvent) => void): () => void;
  /** Events other instances stored from `since` on, oldest first (live/alert-stream.ts). */
  eventsOfOthers(since: Micros, limit: number): Promise<AlertEvent[]>;
  /** Seeds the configured rules, takes up the stored state, starts the timers (once the tables exist). */
  start(): Promise<void>;
  stop(): void;
}

export interface AlertEngineOptions {
  /** Runs the rules' statements (named `alerts.<kind>`). */
  sql: SqlRunner;
  /**
   * Runs the background statements of the shared rules (heartbeat, read-back, state; named
   * `alerts.<what>`). Default `sql`; the app gives them a runner of their own, so that the
   * statements requests cause are counted apart from this steady background.
   */
  storeSql?: SqlRunner;
  tables: TableNames;
  /** Stores the events (alert_events) and gives QUEUE_DEPTH its value. */
  writer: BatchWriter;
  /** An ILP buffer, to queue an event when the writer's queue is full. */
  newBuffer: () => IlpBuffer;
  /** This instance's name in alert_events and api_instances. */
  instance: string;
  /** ALERT_RULES: written at version 0 on start, so that a change made through the API wins. */
  rules: readonly AlertRule[];
  /**
   * How often each rule is evaluated, on a timer of its own: a rule is evaluated again this long
   * after its previous evaluation started, or at once when that one took longer. 0: only when
   * `evaluate()` is called, and this instance takes no part in the election.
   */
  intervalMs: number;
  /** How often rules are read back and the heartbeat written (ALERT_SYNC_MS); 0: never. Default 1,000. */
  syncMs?: number;
  /** How long a heartbeat keeps an instance alive in the election (ALERT_LEASE_MS). Default 5,000. */
  leaseMs?: number;
  /**
   * Client-side deadline of a rule's statement, the wait for a connection included; past it the
   * evaluation fails (logged at warn) and the connection is destroyed. The rule is evaluated again
   * at its next turn.
   */
  statementTimeoutMs: number;
  log: Logger;
}

/** A rule, or its deletion, at the version (timestamp) it was written. */
interface Versioned {
  version: Micros;
  rule: AlertRule | null;
}

export function createAlertEngine(options: AlertEngineOptions): AlertEngine {
  const { sql, tables, writer, newBuffer, instance, intervalMs, statementTimeoutMs, log } = options;
  const syncMs = options.syncMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 5_000;
  const candidate = intervalMs > 0;
  const store = createAlertStore({ sql: options.storeSql ?? sql, tables, instance, deadlineMs: statementTimeoutMs });
  /** Last writer wins per rule id, the seeds at version 0; deletions stay as null. */
  const known = new Map<string, Versioned>(options.rules.map((r) => [r.id, { version: 0n, rule: r }]));
  const firing = new Set<string>();
  const listeners = new Set<(event: AlertEvent) => void>();
  /** The evaluation of each rule in progress: one rule is never evaluated twice at once. */
  const inProgress = new Map<string, Promise<AlertEvent | undefined>>();
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  let started = false;
  const startedAt = nowMicros();
  const measures = { sql, tables, writer, deadlineMs: statementTimeoutMs };
  /** Leader since the state of the SQL rules was taken up; until (performance.now()) its lease holds. */
  let leaderUntil = 0;
  let syncTimer: NodeJS.Timeout | undefined;
  let syncing: Promise<void> | undefined;

  const current = (id: string): AlertRule | undefined => known.get(id)?.rule ?? undefined;
  const leading = () => !candidate || performance.now() < leaderUntil;
  /** Whether this instance evaluates the rule now. */
  const inCharge = (rule: AlertRule) => judgesOwnInstance(rule.kind) || leading();

  const raise = (event: AlertEvent) => {
    const table = tables.alert_events;
    const rows: QueuedRow[] = [
      {
        table,
        encode: (b) => ALERT_EVENTS.encode(b, table, { ...event, instance }),
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
    if (!inCharge(rule)) return undefined;
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
    // Replaced or removed while its statement ran (the answer belongs to a rule that is gone), the
    // lead passed to another instance meanwhile, or the engine stopped (the writer may be closed).
    if (value === null || current(rule.id) !== rule || !inCharge(rule) || stopped) return undefined;
    const isFiring = firing.has(rule.id);
    let state: AlertEvent["state"] | undefined;
    if (!isFiring && value > rule.threshold) state = "FIRING";
    else if (isFiring && value <= rule.threshold * (1 - rule.hysteresis)) state = "RESOLVED";
    if (!state) return undefined;
    if (state === "FIRING") firing.add(rule.id);
    else firing.delete(rule.id);
    const what =
      rule.kind === "LATENCY_P99"
        ? `p99 latency of ${rule.stage}`
        : rule.kind === "QUEUE_DEPTH"
          ? `queue depth of ${instance}`
          : rule.kind.toLowerCase().replace("_", " ");
    const unit = UNIT_OF[rule.kind];
    const event: AlertEvent = {
      eventId: randomUUID(),
      ruleId: rule.id,
      kind: rule.kind,
      state,
      value,
      threshold: rule.threshold,
      at: now,
      message: `${what} is ${formatInUnit(value, unit)} (threshold ${formatInUnit(rule.threshold, unit)}): ${state.toLowerCase()}`,
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
    if (intervalMs <= 0 || stopped || !started) return;
    clearTimeout(timers.get(id));
    const timer = setTimeout(async () => {
      const rule = current(id);
      if (!rule || timers.get(id) !== timer) return;
      const began = performance.now();
      await evaluateRule(rule);
      if (current(id) === rule && timers.get(id) === timer) {
        schedule(id, Math.max(0, intervalMs - (performance.now() - began)));
      }
    }, delayMs);
    timer.unref();
    timers.set(id, timer);
  };
  const unschedule = (id: string) => {
    clearTimeout(timers.get(id));
    timers.delete(id);
  };

  /** Takes a version of a rule if it is newer than the one known: it starts again, not firing. */
  const apply = (id: string, next: Versioned): boolean => {
    const had = known.get(id);
    if (had && had.version >= next.version) return false;
    known.set(id, next);
    firing.delete(id);
    unschedule(id);
    if (next.rule) schedule(id, intervalMs);
    return true;
  };

  /** Firing states from the newest stored event of each rule written since its current version. */
  const takeUpState = async (which: (rule: AlertRule) => boolean) => {
    const events = await store.lastEvents();
    for (const event of events) {
      const entry = known.get(event.ruleId);
      if (!entry?.rule || !which(entry.rule) || event.at < entry.version) continue;
      if (event.state === "FIRING") firing.add(event.ruleId);
      else firing.delete(event.ruleId);
    }
  };

  /** One round: heartbeat, the rules' newest versions, who leads. */
  const syncOnce = async () => {
    let beat = false;
    if (candidate) {
      const { queuedRows, inFlightRows } = writer.stats();
      const sent = performance.now();
      try {
        await store.heartbeat(startedAt, queuedRows + inFlightRows);
        beat = true;
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert heartbeat not written");
      }
      if (beat) {
        const instances = await store.liveInstances(leaseMs);
        const leader = instances[0]?.instance === instance;
        if (leader && !leading()) {
          // Taking the lead: the SQL rules' states are those the previous leader stored.
          await takeUpState((rule) => !judgesOwnInstance(rule.kind));
          log.info({ instances: instances.map((i) => i.instance) }, "this instance now evaluates the alert rules");
        } else if (!leader && leading()) {
          log.info({ leader: instances[0]?.instance ?? null }, "another instance evaluates the alert rules");
        }
        // The lease, counted from when the heartbeat was sent, ends a sync before the others' view
        // of it does: two instances never both judge the shared rules.
        leaderUntil = leader ? sent + leaseMs - syncMs : 0;
      }
    }
    for (const { id, version, rule } of await store.loadRules()) apply(id, { version, rule });
    if (candidate && !beat) leaderUntil = 0;
  };
  const sync = (): Promise<void> => {
    syncing ??= syncOnce().finally(() => {
      syncing = undefined;
    });
    return syncing;
  };
  const syncLoop = () => {
    if (stopped || syncMs <= 0) return;
    syncTimer = setTimeout(async () => {
      try {
        await sync();
      } catch (error) {
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert rules not synchronised");
      }
      syncLoop();
    }, syncMs);
    syncTimer.unref();
  };

  /** start(): seeds, the stored state, the first sync, the timers. */
  const begin = async () => {
    if (stopped) return;
    // Written at version 0 (DEDUP keeps one row per seed): whatever the API changed since wins.
    for (const rule of options.rules) await store.saveRule(rule.id, 0n, rule);
    if (stopped) return;
    started = true;
    for (const { id, version, rule } of await store.loadRules()) apply(id, { version, rule });
    await takeUpState((rule) => judgesOwnInstance(rule.kind) || !candidate);
    if (syncMs > 0) {
      await sync().catch((error: unknown) =>
        log.warn({ err: error instanceof Error ? error.message : String(error) }, "alert rules not synchronised"),
      );
      syncLoop();
    }
    for (const [id, { rule }] of known) if (rule && !timers.has(id)) schedule(id, intervalMs);
  };
  let starting: Promise<void> | undefined;

  return {
    rules: () => [...known.values()].flatMap(({ rule }) => (rule ? [rule] : [])),
    upsert: async (rule) => {
      const version = nowMicros();
      await store.saveRule(rule.id, version, rule);
      apply(rule.id, { version, rule });
    },
    remove: async (id) => {
      // Made on another instance a moment ago, perhaps: read the rules back before saying no.
      if (!current(id) && started && syncMs > 0) await sync();
      if (!current(id)) return false;
      const version = nowMicros();
      await store.saveRule(id, version, null);
      apply(id, { version, rule: null });
      return true;
    },
    evaluate: async () => {
      await starting?.catch(() => {});
      if (started && syncMs > 0) await sync();
      const events = await Promise.all([...known.values()].flatMap(({ rule }) => (rule ? [evaluateRule(rule)] : [])));
      return events.filter((event) => event !== undefined);
    },
    isLeader: () => candidate && leading(),
    listen: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsOfOthers: (since, limit) => store.eventsOfOthers(since, limit),
    start: () => {
      starting ??= begin().catch((error: unknown) => {
        starting = undefined;
        throw error;
      });
      return starting;
    },
    stop: () => {
      stopped = true;
      clearTimeout(syncTimer);
      for (const id of [...timers.keys()]) unschedule(id);
      listeners.clear();
    },
  };
}
