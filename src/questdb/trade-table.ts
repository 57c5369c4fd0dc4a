// The `trades` table and the Enhanced Trade Model it stores: one descriptor from which its DDL,
// ILP encoder, SELECT list, row type and row mapper are derived (questdb/descriptor.ts).
import { column as c, type DomainOf, defineTable, type RowOf, WRITER_COLUMN } from "./descriptor.ts";

export const TRADE_ACTIONS = ["BUY", "SELL"] as const;
export type TradeAction = (typeof TRADE_ACTIONS)[number];

export const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;
export type MevStatus = (typeof MEV_STATUSES)[number];

export const TRADES = defineTable({
  name: "trades",
  dedupKeys: ["trade_id", WRITER_COLUMN],
  fields: {
    timestamp: c.timestamp("timestamp"),
    tradeId: c.varchar("trade_id"),
    signature: c.nullable(c.varchar("signature")),
    action: c.symbol("action", TRADE_ACTIONS),
    baseToken: c.symbol("base_token"),
    quoteToken: c.symbol("quote_token"),
    baseAmount: c.double("base_amount"),
    quoteAmount: c.double("quote_amount"),
    executedPrice: c.double("executed_price"),
    transactionFee: c.long("transaction_fee"),
    priorityFee: c.long("priority_fee"),
    expectedSlippage: c.double("expected_slippage"),
    actualSlippage: c.double("actual_slippage"),
    mevStatus: c.symbol("mev_status", MEV_STATUSES),
    transferFees: c.double("transfer_fees"),
    strategy: c.nullable(c.symbol("strategy")),
    venue: c.nullable(c.symbol("venue")),
    slot: c.nullable(c.long("slot")),
    realizedPnl: c.nullable(c.double("realized_pnl")),
    /**
     * The name of the API key that wrote it, part of the row's identity (one key never replaces
     * another's row); null for rows written before writers were recorded.
     */
    writer: c.nullable(c.symbol(WRITER_COLUMN)),
  },
});

/** A validated trade, as stored and as returned. Absent optionals are `null`. */
export type Trade = DomainOf<typeof TRADES.fields>;
/** A `trades` row of `SELECT ${TRADES.select}`. */
export type TradeRow = RowOf<typeof TRADES.fields>;
