// The tables the service writes about itself: its health samples, alert events and rules, and
// the heartbeats of its instances; declared once (questdb/descriptor.ts).
import { column as c, type DomainOf, defineTable } from "./descriptor.ts";

export const SYSTEM_METRICS = defineTable({
  name: "system_metrics",
  dedupKeys: ["instance"],
  fields: {
    timestamp: c.timestamp("timestamp"),
    instance: c.symbol("instance"),
    queueDepth: c.long("queue_depth"),
    oldestQueuedMs: c.double("oldest_queued_ms"),
    flushMs: c.double("flush_ms"),
    rowsWritten: c.long("rows_written"),
    retries: c.long("retries"),
    rejectedRows: c.long("rejected_rows"),
    eventLoopLagMs: c.double("event_loop_lag_ms"),
    rssBytes: c.long("rss_bytes"),
    cpuPercent: c.double("cpu_percent"),
  },
});

/** One health sample of an instance (ingest/system-sampler.ts). */
export type SystemSample = DomainOf<typeof SYSTEM_METRICS.fields>;

export const ALERT_EVENTS = defineTable({
  name: "alert_events",
  dedupKeys: ["event_id"],
  fields: {
    at: c.timestamp("timestamp"),
    eventId: c.varchar("event_id"),
    ruleId: c.symbol("rule_id"),
    kind: c.symbol("kind"),
    state: c.symbol("state", ["FIRING", "RESOLVED"]),
    value: c.double("value"),
    threshold: c.double("threshold"),
    message: c.varchar("message"),
    /** The instance that raised it. */
    instance: c.symbol("instance"),
  },
});

/** Alert rules shared by every instance (issue 15): one row per change, the newest per rule_id
 * wins (LATEST ON), a deletion is a row with deleted = true. Rules seeded from ALERT_RULES are
 * written at timestamp 0, so any change made through the API is newer. */
export const ALERT_RULES = defineTable({
  name: "alert_rules",
  dedupKeys: ["rule_id"],
  retention: false,
  fields: {
    timestamp: c.timestamp("timestamp"),
    ruleId: c.symbol("rule_id"),
    kind: c.symbol("kind"),
    stage: c.nullable(c.symbol("stage")),
    windowSeconds: c.int("window_seconds"),
    threshold: c.double("threshold"),
    hysteresis: c.double("hysteresis"),
    deleted: c.boolean("deleted"),
    instance: c.symbol("instance"),
  },
});

/** Heartbeats of the instances that evaluate alert rules (live/alerts.ts): the oldest live one is
 * the leader. Written with QuestDB's clock (now()), so instances' clocks never compare. */
export const API_INSTANCES = defineTable({
  name: "api_instances",
  dedupKeys: ["instance"],
  fields: {
    timestamp: c.timestamp("timestamp"),
    instance: c.symbol("instance"),
    startedAt: c.timestamp("started_at"),
    queuedRows: c.long("queued_rows"),
  },
});
