// Validation of a bot's trade (the Enhanced Trade Model). The stored trade, its columns, encoder
// and row mapper are declared once in questdb/trade-table.ts.
import { randomUUID } from "node:crypto";
import { type MevStatus, TRADES, type Trade, type TradeAction } from "../questdb/trade-table.ts";
import type { Micros } from "../time.ts";
import type { RecordKind } from "./record-kind.ts";
import {
  AMOUNT,
  Checker,
  EXPECTED_SLIPPAGE,
  type FieldProblem,
  SIGNED_AMOUNT,
  SLIPPAGE,
  type ValidationLimits,
} from "./validation.ts";

/** What a bot sends (GraphQL `TradeInput`, scalars already parsed). */
export interface TradeInput {
  tradeId?: string | null | undefined;
  signature?: string | null | undefined;
  timestamp?: Micros | null | undefined;
  action: TradeAction;
  baseToken: string;
  quoteToken: string;
  baseAmount: number;
  quoteAmount: number;
  executedPrice: number;
  transactionFee: bigint;
  priorityFee: bigint;
  expectedSlippage: number;
  actualSlippage: number;
  mevStatus: MevStatus;
  transferFees: number;
  strategy?: string | null | undefined;
  venue?: string | null | undefined;
  slot?: bigint | null | undefined;
  realizedPnl?: number | null | undefined;
}

/** A trade as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedTrade = Omit<Trade, "writer">;

/** Trades as the record mutations take them (recordTrade, recordTrades). */
export const TRADE_RECORDS: RecordKind<TradeInput, Trade> = {
  validate: (input, index, limits) => validateTrade(input, index, limits),
  table: TRADES,
  id: (row) => row.tradeId,
};

export function validateTrade(
  input: TradeInput,
  index: number,
  limits: ValidationLimits,
): { row: ValidatedTrade; problems: FieldProblem[] } {
  const c = new Checker(index, limits);
  const signature = c.signature("signature", input.signature);
  const trade: ValidatedTrade = {
    timestamp: c.timestamp(
      "timestamp",
      input.timestamp,
      input.tradeId != null ? "tradeId" : input.signature != null ? "signature" : undefined,
    ),
    // The idempotency key: the client's id, else the transaction signature, else a fresh UUID
    // (then only the server's own re-sends are deduplicated, not a client's retry).
    tradeId: input.tradeId != null ? c.key("tradeId", input.tradeId) : (signature ?? randomUUID()),
    signature: signature ?? null,
    action: input.action,
    baseToken: c.name("baseToken", input.baseToken),
    quoteToken: c.name("quoteToken", input.quoteToken),
    baseAmount: c.number("baseAmount", input.baseAmount, AMOUNT),
    quoteAmount: c.number("quoteAmount", input.quoteAmount, AMOUNT),
    executedPrice: c.number("executedPrice", input.executedPrice, AMOUNT),
    transactionFee: c.long("transactionFee", input.transactionFee),
    priorityFee: c.long("priorityFee", input.priorityFee),
    expectedSlippage: c.fraction("expectedSlippage", input.expectedSlippage, EXPECTED_SLIPPAGE),
    actualSlippage: c.fraction("actualSlippage", input.actualSlippage, SLIPPAGE),
    mevStatus: input.mevStatus,
    transferFees: c.number("transferFees", input.transferFees, AMOUNT),
    strategy: c.optionalName("strategy", input.strategy) ?? null,
    venue: c.optionalName("venue", input.venue) ?? null,
    slot: c.optionalLong("slot", input.slot) ?? null,
    realizedPnl: c.optionalNumber("realizedPnl", input.realizedPnl, SIGNED_AMOUNT) ?? null,
  };
  return { row: trade, problems: c.problems };
}

// The names this module exported before the descriptor (tests and benchmarks import them).
export { MEV_STATUSES, type MevStatus, type Trade, type TradeAction, type TradeRow } from "../questdb/trade-table.ts";
export const encodeTrade = TRADES.encode;
export const TRADE_SELECT = TRADES.select;
export const tradeFromRow = TRADES.fromRow;
