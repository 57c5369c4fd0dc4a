// The `trades` table and the Enhanced Trade Model it stores: one descriptor from which its DDL,
// ILP encoder, SELECT list, row type and row mapper are derived (questdb/descriptor.ts).
import {
  type DomainOf,
  defineTable,
  double,
  long,
  nullable,
  type RowOf,
  symbol,
  timestamp,
  varchar,
  WRITER_COLUMN,
} from "./descriptor.ts";

export const TRADE_ACTIONS = ["BUY", "SELL"] as const;
export type TradeAction = (typeof TRADE_ACTIONS)[number];

export const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;
export type MevStatus = (typeof MEV_STATUSES)[number];

export const TRADES = defineTable({
  name: "trades",
  dedupKeys: ["trade_id", WRITER_COLUMN],
  fields: {
    timestamp: timestamp("timestamp"),
    tradeId: varchar("trade_id"),
    signature: nullable(varchar("signature")),
    action: symbol("action", TRADE_ACTIONS),
    baseToken: symbol("base_token"),
    quoteToken: symbol("quote_token"),
    baseAmount: double("base_amount"),
    quoteAmount: double("quote_amount"),
    executedPrice: double("executed_price"),
    transactionFee: long("transaction_fee"),
    priorityFee: long("priority_fee"),
    expectedSlippage: double("expected_slippage"),
    actualSlippage: double("actual_slippage"),
    mevStatus: symbol("mev_status", MEV_STATUSES),
    transferFees: double("transfer_fees"),
    strategy: nullable(symbol("strategy")),
    venue: nullable(symbol("venue")),
    slot: nullable(long("slot")),
    realizedPnl: nullable(double("realized_pnl")),
    /**
     * The name of the API key that wrote it, part of the row's identity (one key never replaces
     * another's row); null for rows written before writers were recorded.
     */
    writer: nullable(symbol(WRITER_COLUMN)),
  },
});

/** A validated trade, as stored and as returned. Absent optionals are `null`. */
export type Trade = DomainOf<typeof TRADES.fields>;
/** A `trades` row of `SELECT ${TRADES.select}`. */
export type TradeRow = RowOf<typeof TRADES.fields>;
