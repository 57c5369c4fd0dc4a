// What alert rules keep in QuestDB, so that every instance shares them (issue 15): the rules
// (alert_rules, the newest row per rule wins), the heartbeats that elect the one instance that
// evaluates the SQL rules (api_instances), the state each rule was left in (alert_events), and
// the events other instances raised, for this instance's `alerts` subscribers. Every statement
// runs through the SQL runner, named `alerts.<what>`, with the rules' client-side deadline.
import type { SqlRunner } from "../analytics/sql.ts";
import type { TableNames } from "../questdb/tables.ts";
import { formatIsoMicros, type Micros } from "../time.ts";
import type { AlertEvent, AlertKind, AlertRule } from "./alerts.ts";

/** A rule as last written: the rule, or null when that write deleted it; `version` is its timestamp. */
export interface RuleVersion {
  id: string;
  version: Micros;
  rule: AlertRule | null;
}

/** An instance whose heartbeat is younger than the lease. */
export interface LiveInstance {
  instance: string;
  startedAt: Micros;
  queuedRows: number;
}

export interface AlertStore {
  /** Writes a rule (or its deletion, `rule: null`) at `version`. */
  saveRule(id: string, version: Micros, rule: AlertRule | null): Promise<void>;
  /** The newest version of every rule ever written, deletions included. */
  loadRules(): Promise<RuleVersion[]>;
  /** Records that this instance is alive (QuestDB's clock), with its queue depth. */
  heartbeat(startedAt: Micros, queuedRows: number): Promise<void>;
  /** The instances that sent a heartbeat within `leaseMs`, oldest first (the first is the leader). */
  liveInstances(leaseMs: number): Promise<LiveInstance[]>;
  /**
   * The newest event of each rule (SQL rules: whoever raised it; QUEUE_DEPTH: this instance's own),
   * from which a rule's firing state is taken up after a restart or a change of leader.
   */
  lastEvents(): Promise<{ ruleId: string; kind: AlertKind; state: AlertEvent["state"]; at: Micros }[]>;
  /** Events other instances stored from `since` on, oldest first, at most `limit`. */
  eventsOfOthers(since: Micros, limit: number): Promise<AlertEvent[]>;
}

interface RuleRow {
  timestamp: bigint;
  rule_id: string;
  kind: AlertKind;
  stage: string | null;
  window_seconds: number | null;
  threshold: number | null;
  hysteresis: number | null;
  deleted: boolean;
}

/** An alert_events row as the statements that read events select it. */
export interface EventRow {
  timestamp: bigint;
  event_id: string;
  rule_id: string;
  kind: AlertKind;
  state: AlertEvent["state"];
  value: number;
  threshold: number;
  message: string;
}

export function createAlertStore(options: {
  sql: SqlRunner;
  tables: TableNames;
  /** This instance's name (api_instances.instance, alert_events.instance). */
  instance: string;
  deadlineMs: number;
}): AlertStore {
  const { sql, tables, instance, deadlineMs } = options;
  const run = <R>(name: string, text: string, params: unknown[] = []) =>
    sql.query<R>({ name: `alerts.${name}`, sql: text, params }, { deadlineMs });

  return {
    async saveRule(id, version, rule) {
      await run(
        "saveRule",
        `INSERT INTO ${tables.alert_rules} (timestamp, rule_id, kind, stage, window_seconds, threshold, hysteresis, deleted, instance)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          formatIsoMicros(version),
          id,
          rule?.kind ?? null,
          rule?.stage ?? null,
          rule?.windowSeconds ?? null,
          rule?.threshold ?? null,
          rule?.hysteresis ?? null,
          rule === null,
          instance,
        ],
      );
    },

    async loadRules() {
      const rows = await run<RuleRow>(
        "loadRules",
        `SELECT timestamp, rule_id, kind, stage, window_seconds, threshold, hysteresis, deleted
         FROM ${tables.alert_rules} LATEST ON timestamp PARTITION BY rule_id`,
      );
      return rows.map((row) => ({
        id: row.rule_id,
        version: row.timestamp,
        rule: row.deleted
          ? null
          : {
              id: row.rule_id,
              kind: row.kind,
              stage: row.stage,
              windowSeconds: row.window_seconds ?? 60,
              threshold: row.threshold ?? 0,
              hysteresis: row.hysteresis ?? 0.1,
            },
      }));
    },

    async heartbeat(startedAt, queuedRows) {
      await run(
        "heartbeat",
        `INSERT INTO ${tables.api_instances} (timestamp, instance, started_at, queued_rows) VALUES (now(), $1, $2, $3)`,
        [instance, formatIsoMicros(startedAt), queuedRows],
      );
    },

    async liveInstances(leaseMs) {
      const rows = await run<{ instance: string; started_at: bigint; queued_rows: bigint | null }>(
        "liveInstances",
        `SELECT instance, started_at, queued_rows FROM ${tables.api_instances}
         WHERE timestamp > dateadd('T', $1, now()) LATEST ON timestamp PARTITION BY instance`,
        [-leaseMs],
      );
      return rows
        .map((row) => ({
          instance: row.instance,
          startedAt: row.started_at,
          queuedRows: Number(row.queued_rows ?? 0n),
        }))
        .sort((a, b) =>
          a.startedAt !== b.startedAt ? (a.startedAt < b.startedAt ? -1 : 1) : a.instance < b.instance ? -1 : 1,
        );
    },

    async lastEvents() {
      const rows = await run<{ timestamp: bigint; rule_id: string; kind: AlertKind; state: AlertEvent["state"] }>(
        "lastEvents",
        `SELECT timestamp, rule_id, kind, state FROM ${tables.alert_events}
         WHERE kind != 'QUEUE_DEPTH' OR instance = $1 LATEST ON timestamp PARTITION BY rule_id`,
        [instance],
      );
      return rows.map((row) => ({ ruleId: row.rule_id, kind: row.kind, state: row.state, at: row.timestamp }));
    },

    async eventsOfOthers(since, limit) {
      const rows = await run<EventRow>(
        "eventsOfOthers",
        `SELECT ${EVENT_COLUMNS} FROM ${tables.alert_events}
         WHERE timestamp >= $1 AND (instance != $2 OR instance IS NULL) ORDER BY timestamp LIMIT ${limit}`,
        [formatIsoMicros(since), instance],
      );
      return rows.map(eventFromRow);
    },
  };
}

/** The columns an EventRow selects, in order. */
export const EVENT_COLUMNS = "timestamp, event_id, rule_id, kind, state, value, threshold, message";

export const eventFromRow = (row: EventRow): AlertEvent => ({
  eventId: row.event_id,
  ruleId: row.rule_id,
  kind: row.kind,
  state: row.state,
  value: row.value,
  threshold: row.threshold,
  at: row.timestamp,
  message: row.message,
});
