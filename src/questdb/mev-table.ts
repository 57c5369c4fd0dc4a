// The `mev_metrics` table: the MEV-protection result of one transaction, declared once
// (questdb/descriptor.ts derives its DDL, ILP encoder, SELECT list, row type and mapper).
import { column as c, type DomainOf, defineTable, type RowOf, WRITER_COLUMN } from "./descriptor.ts";

export const MEV_PROTECTIONS = ["JITO_BUNDLE", "PRIVATE_RPC", "NONE", "OTHER"] as const;
export type MevProtection = (typeof MEV_PROTECTIONS)[number];

export const MEV_OUTCOMES = ["LANDED", "FAILED", "DROPPED", "SANDWICHED", "FRONT_RUN", "BACK_RUN"] as const;
export type MevOutcome = (typeof MEV_OUTCOMES)[number];

export const MEV_METRICS = defineTable({
  name: "mev_metrics",
  dedupKeys: ["metric_id", WRITER_COLUMN],
  fields: {
    timestamp: c.timestamp("timestamp"),
    metricId: c.varchar("metric_id"),
    tradeId: c.nullable(c.varchar("trade_id")),
    protection: c.symbol("protection", MEV_PROTECTIONS),
    outcome: c.symbol("outcome", MEV_OUTCOMES),
    tipLamports: c.long("tip_lamports"),
    expectedProfit: c.nullable(c.double("expected_profit")),
    realizedProfit: c.nullable(c.double("realized_profit")),
    lossAvoided: c.nullable(c.double("loss_avoided")),
    attackDetected: c.boolean("attack_detected"),
    slotsToLand: c.nullable(c.int("slots_to_land")),
    strategy: c.nullable(c.symbol("strategy")),
    /** The name of the API key that wrote it, part of the row's identity; null for older rows. */
    writer: c.nullable(c.symbol(WRITER_COLUMN)),
    // Issue 16: where it was routed, the pair (its quote token is the currency of the money
    // columns), the tip floor the bot saw and the compute units it requested.
    /** Where the transaction was routed (a DEX or aggregator), as on its trade. */
    venue: c.nullable(c.symbol("venue")),
    /** The traded pair; quoteToken is the currency of the money figures (profits, loss avoided). */
    baseToken: c.nullable(c.symbol("base_token")),
    quoteToken: c.nullable(c.symbol("quote_token")),
    /** The tip floor the bot saw when it sent the bundle (e.g. Jito's landed-tip percentile), lamports. */
    tipFloorLamports: c.nullable(c.long("tip_floor_lamports")),
    /** The compute-unit limit the transaction requested, on which its priority fee was charged. */
    computeUnits: c.nullable(c.int("compute_units")),
  },
});

export type MevMetric = DomainOf<typeof MEV_METRICS.fields>;
/** A `mev_metrics` row of `SELECT ${MEV_METRICS.select}`. */
export type MevRow = RowOf<typeof MEV_METRICS.fields>;
