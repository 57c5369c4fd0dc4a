// Subscriptions (liveMetrics, tradeRecorded, alerts) and the admin fields for alert rules.
import { alertEventsInRange } from "../analytics/system-metrics.ts";
import type { TradeFilter } from "../analytics/trades.ts";
import type { Context } from "../context.ts";
import { BadInputError, clientError } from "../errors.ts";
import { requireAdmin } from "../http/auth.ts";
import { createAlertStream } from "../live/alert-stream.ts";
import {
  ALERT_KINDS,
  ALERT_UNITS,
  type AlertEvent,
  type AlertRule,
  checkAlertRule,
  normaliseRule,
  ruleIdProblem,
  UNIT_OF,
} from "../live/alerts.ts";
import { joinLiveMetrics, type LiveMetrics, type StageLatency } from "../live/live-metrics.ts";
import { createChannel } from "../live/live-queries.ts";
import { joinTradeRecorded } from "../live/trade-stream.ts";
import type { Trade } from "../questdb/trade-table.ts";
import { nowMicros } from "../time.ts";
import { checkName, checkTradeFilter } from "./arguments.ts";
import { builder } from "./builder.ts";
import { TimeRangeRef } from "./range.ts";
import { TradeFilterRef, TradeRef } from "./trade.ts";

/** Close code sent to a tradeRecorded client that fell too far behind. */
export const SLOW_CONSUMER_CLOSE_CODE = 4429;

builder.subscriptionType({});

const StageLatencyRef = builder.objectRef<StageLatency>("StageLatency").implement({
  fields: (t) => ({
    stage: t.exposeString("stage"),
    count: t.exposeInt("count"),
    p50Us: t.exposeFloat("p50Us", { description: "Approximate (HdrHistogram, 3 significant digits), microseconds." }),
    p99Us: t.exposeFloat("p99Us", { description: "Approximate (HdrHistogram, 3 significant digits), microseconds." }),
  }),
});

const LiveMetricsRef = builder.objectRef<LiveMetrics>("LiveMetrics").implement({
  description: "Rolling figures over the last windowSeconds, ending at `at` (a whole second).",
  fields: (t) => ({
    windowSeconds: t.exposeInt("windowSeconds"),
    at: t.field({ type: "Timestamp", resolve: (m) => m.at }),
    trades: t.exposeInt("trades"),
    tradesPerSecond: t.exposeFloat("tradesPerSecond"),
    volume: t.exposeFloat("volume", { description: "Quote volume." }),
    mevProtectedRate: t.exposeFloat("mevProtectedRate", { description: "Share (0–1) of trades PROTECTED." }),
    mevAttackedRate: t.exposeFloat("mevAttackedRate", {
      description:
        "Share (0–1) of trades attacked: mevStatus SANDWICHED, FRONT_RUN or BACK_RUN (docs/queries.md#mev-vocabulary).",
    }),
    latency: t.field({ type: [StageLatencyRef], resolve: (m) => m.latency }),
    ingestQueueDepth: t.exposeInt("ingestQueueDepth", {
      description: "Rows queued or in flight in this API instance.",
    }),
    ingestFlushMs: t.exposeFloat("ingestFlushMs", {
      description: "Duration of this API instance's latest flush to QuestDB, retries included (ms).",
    }),
    ingestRejectedRows: t.exposeInt("ingestRejectedRows", {
      description: "Rows this API instance dead-lettered since it started.",
    }),
  }),
});

const AlertKindEnum = builder.enumType("AlertKind", {
  description:
    "LATENCY_P99: p99 latency of a stage (microseconds). SANDWICH_RATE: share of SANDWICHED trades (a fraction 0–1). NO_TRADES: seconds since the last trade. QUEUE_DEPTH: rows queued in an instance. ATTACK_RATE: share of attacked trades (a fraction 0–1).",
  values: ALERT_KINDS,
});
const AlertUnitEnum = builder.enumType("AlertUnit", {
  description:
    "The unit of a rule's threshold and of its events' values: the unit the queries answer in (latency in microseconds, rates as fractions 0–1).",
  values: ALERT_UNITS,
});
const AlertStateEnum = builder.enumType("AlertState", { values: ["FIRING", "RESOLVED"] as const });

const AlertEventRef = builder.objectRef<AlertEvent>("AlertEvent").implement({
  fields: (t) => ({
    eventId: t.exposeString("eventId"),
    ruleId: t.exposeString("ruleId"),
    kind: t.field({ type: AlertKindEnum, resolve: (e) => e.kind }),
    state: t.field({ type: AlertStateEnum, resolve: (e) => e.state }),
    value: t.exposeFloat("value", { description: "In `unit`." }),
    threshold: t.exposeFloat("threshold", { description: "In `unit`." }),
    unit: t.field({ type: AlertUnitEnum, resolve: (e) => UNIT_OF[e.kind] }),
    at: t.field({ type: "Timestamp", resolve: (e) => e.at }),
    message: t.exposeString("message"),
  }),
});

const AlertRuleRef = builder.objectRef<AlertRule>("AlertRule").implement({
  fields: (t) => ({
    id: t.exposeString("id"),
    kind: t.field({ type: AlertKindEnum, resolve: (r) => r.kind }),
    stage: t.exposeString("stage", { nullable: true }),
    windowSeconds: t.exposeInt("windowSeconds"),
    threshold: t.exposeFloat("threshold", { description: "In `unit`." }),
    unit: t.field({ type: AlertUnitEnum, resolve: (r) => UNIT_OF[r.kind] }),
    hysteresis: t.exposeFloat("hysteresis"),
  }),
});

const AlertRuleInputRef = builder.inputType("AlertRuleInput", {
  description:
    "LATENCY_P99: p99 of `stage` over windowSeconds above threshold microseconds. SANDWICH_RATE: share of SANDWICHED trades over windowSeconds above threshold, a fraction 0–1 (0.02 is 2 %). NO_TRADES: no trade for threshold seconds. QUEUE_DEPTH: an instance's ingest queue above threshold rows. ATTACK_RATE: share of attacked trades (SANDWICHED, FRONT_RUN or BACK_RUN) over windowSeconds above threshold, a fraction 0–1. Resolves below threshold × (1 − hysteresis).",
  fields: (t) => ({
    id: t.string({
      description: "1 to 64 letters, digits and _ . : -. Default: a new UUID; an existing id replaces that rule.",
    }),
    kind: t.field({ type: AlertKindEnum, required: true }),
    stage: t.string({ description: "LATENCY_P99 only: the stage, 1–64 characters as on ingest." }),
    windowSeconds: t.int({ description: "1 to 86400; default 60." }),
    threshold: t.float({
      required: true,
      description: "In the kind's unit (AlertUnit): microseconds, a fraction 0–1, seconds or whole rows; 0 to 1e15.",
    }),
    hysteresis: t.float({ description: "From 0 to below 1; default 0.1." }),
  }),
});

/**
 * Wraps a channel in the iterable graphql-ws consumes, leaving the cohort when it ends. `direct`:
 * a batch's events may be written straight to the socket (context.directNext).
 */
function subscribeChannel<T>(
  context: Context,
  options: { coalesce: boolean; direct?: boolean },
  join: (channel: { push(value: T): void; pushAll(values: readonly T[]): void }) => () => void,
): AsyncIterable<T> {
  let leave = () => {};
  const channel = createChannel<T>({
    coalesce: options.coalesce,
    maxQueued: context.services.liveLimits.maxQueued,
    onOverflow: () =>
      context.closeConnection?.(SLOW_CONSUMER_CLOSE_CODE, "Slow consumer: too many messages queued for this client"),
    onClose: () => leave(),
    direct: options.direct ? context.directNext : undefined,
  });
  leave = join(channel);
  return channel;
}

builder.subscriptionFields((t) => ({
  liveMetrics: t.field({
    type: LiveMetricsRef,
    description: "Rolling figures over a sliding window; sent when they change (at most about once a second).",
    args: {
      windowSeconds: t.arg.int({ required: true, defaultValue: 60, description: "1 to 86400." }),
      strategy: t.arg.string({ description: "One strategy, 1–64 characters as on ingest; default all." }),
      writer: t.arg.string({ description: "Only the rows this API key (by name) recorded; default every key's." }),
    },
    subscribe: (_root, args, context) => {
      if (args.windowSeconds < 1 || args.windowSeconds > 86_400) {
        throw new BadInputError("windowSeconds", `must be from 1 to 86400, got ${args.windowSeconds}`);
      }
      checkName("strategy", args.strategy);
      checkName("writer", args.writer);
      const { services } = context;
      const strategy = args.strategy ?? null;
      const writer = args.writer ?? null;
      const options = {
        live: services.live,
        tables: services.tables,
        windowSeconds: args.windowSeconds,
        strategy,
        writer,
        ingest: () => {
          const s = services.writer.stats();
          return { queueDepth: s.queuedRows + s.inFlightRows, flushMs: s.lastFlushMs, rejectedRows: s.rejectedRows };
        },
      };
      return subscribeChannel<LiveMetrics>(context, { coalesce: true }, (channel) =>
        joinLiveMetrics(options, channel.push),
      );
    },
    resolve: (value) => value,
  }),
  tradeRecorded: t.field({
    type: TradeRef,
    description: `Each new trade matching the filter, in (timestamp, tradeId, writer) order, without gaps or duplicates across flushes. A client that falls more than LIVE_MAX_QUEUED trades behind is disconnected with close code ${SLOW_CONSUMER_CLOSE_CODE}.`,
    args: { filter: t.arg({ type: TradeFilterRef }) },
    subscribe: (_root, args, context) => {
      const { services } = context;
      const filter: TradeFilter = checkTradeFilter(args.filter);
      const { live, tables, liveLimits } = services;
      const options = { live, table: tables.trades, filter, lateMs: liveLimits.lateRowsMs };
      return subscribeChannel<Trade>(context, { coalesce: false, direct: true }, (channel) =>
        joinTradeRecorded(options, channel.pushAll),
      );
    },
    resolve: (trade) => trade,
  }),
  alerts: t.field({
    type: AlertEventRef,
    description:
      "Firing and resolved alert events of every instance, each once: those this instance raises as it raises them, the other instances' as they reach alert_events. Events from the subscription's start on.",
    subscribe: (_root, _args, context) => {
      const { services } = context;
      const others = createAlertStream((since, limit) => services.alerts.eventsOfOthers(since, limit), {
        lateMs: services.liveLimits.lateRowsMs,
        startAt: nowMicros(),
      });
      return subscribeChannel<AlertEvent>(context, { coalesce: false }, ({ push }) => {
        const stopListening = services.alerts.listen(push);
        const leave = services.live.join<AlertEvent[]>(
          {
            key: "alerts",
            tables: [services.tables.alert_events],
            slideMs: 0,
            stream: true,
            poll: async () => {
              const events = await others.next();
              return events.length > 0 ? events : undefined;
            },
            again: others.more,
          },
          { push: (events) => events.forEach(push) },
        );
        return () => {
          stopListening();
          leave();
        };
      });
    },
    resolve: (event) => event,
  }),
}));

builder.queryFields((t) => ({
  alertRules: t.field({ type: [AlertRuleRef], resolve: (_root, _args, context) => context.services.alerts.rules() }),
  alertEvents: t.field({
    type: [AlertEventRef],
    description:
      "The alert events every instance stored (alert_events) in the range, newest first. A rule whose newest event is FIRING is firing.",
    args: {
      range: t.arg({ type: TimeRangeRef, required: true }),
      first: t.arg.int({ required: true, defaultValue: 100, description: "1 to 1000." }),
    },
    resolve: (_root, args, { services, reads }) => {
      if (args.first < 1 || args.first > 1000)
        throw new BadInputError("first", `must be from 1 to 1000, got ${args.first}`);
      return alertEventsInRange(reads, services.tables.alert_events, args.range, args.first);
    },
  }),
}));

builder.mutationFields((t) => ({
  upsertAlertRule: t.field({
    type: AlertRuleRef,
    description:
      "Admin: adds a rule, or replaces the rule with the same id (it starts again as not firing). Stored in alert_rules: every instance applies it within ALERT_SYNC_MS, and it outlives restarts.",
    args: { input: t.arg({ type: AlertRuleInputRef, required: true }) },
    resolve: async (_root, { input }, context) => {
      requireAdmin(context.caller);
      const problems = checkAlertRule(input);
      if (problems.length > 0) {
        throw clientError("BAD_USER_INPUT", `Invalid alert rule: ${problems.map((p) => `input.${p}`).join("; ")}`, {
          field: `input.${problems[0]?.slice(0, problems[0].indexOf(":"))}`,
        });
      }
      const rule = normaliseRule(input);
      await context.services.alerts.upsert(rule);
      return rule;
    },
  }),
  deleteAlertRule: t.field({
    type: "Boolean",
    description:
      "Admin: removes a rule on every instance (within ALERT_SYNC_MS); false when there was none with that id.",
    args: { id: t.arg.string({ required: true, description: "1 to 64 letters, digits and _ . : -." }) },
    resolve: async (_root, { id }, context) => {
      requireAdmin(context.caller);
      const problem = ruleIdProblem(id);
      if (problem) throw new BadInputError("id", problem);
      return await context.services.alerts.remove(id);
    },
  }),
}));
