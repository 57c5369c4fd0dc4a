// The Enhanced Trade Model: validation of a mutation's input, its ILP encoding, and the mapping
// of a `trades` row read back over PGWire. The column list lives in questdb/tables.ts.
import { randomUUID } from "node:crypto";
import type { SenderBuffer } from "@questdb/nodejs-client";
import type { Micros } from "../time.ts";
import {
  AMOUNT,
  Checker,
  EXPECTED_SLIPPAGE,
  type FieldProblem,
  SIGNED_AMOUNT,
  SLIPPAGE,
  type ValidationLimits,
} from "./validation.ts";

export const TRADE_ACTIONS = ["BUY", "SELL"] as const;
export type TradeAction = (typeof TRADE_ACTIONS)[number];

export const MEV_STATUSES = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN", "BACK_RUN", "UNKNOWN"] as const;
export type MevStatus = (typeof MEV_STATUSES)[number];

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

/** A validated trade, as stored and as returned. Absent optionals are `null`. */
export interface Trade {
  timestamp: Micros;
  tradeId: string;
  signature: string | null;
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
  strategy: string | null;
  venue: string | null;
  slot: bigint | null;
  realizedPnl: number | null;
  /**
   * The name of the API key that wrote it, part of the row's identity (one key never replaces
   * another's row); null for rows written before writers were recorded.
   */
  writer: string | null;
}

/** A trade as validated from a bot's input; the server adds the writer (schema/record.ts). */
export type ValidatedTrade = Omit<Trade, "writer">;

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

/** Appends one row; symbols first, as ILP requires. Absent optionals are omitted (NULL). */
export function encodeTrade(buffer: SenderBuffer, table: string, t: Trade): void {
  buffer.table(table).symbol("action", t.action).symbol("base_token", t.baseToken).symbol("quote_token", t.quoteToken);
  buffer.symbol("mev_status", t.mevStatus);
  if (t.writer !== null) buffer.symbol("writer", t.writer);
  if (t.strategy !== null) buffer.symbol("strategy", t.strategy);
  if (t.venue !== null) buffer.symbol("venue", t.venue);
  buffer
    .stringColumn("trade_id", t.tradeId)
    .floatColumn("base_amount", t.baseAmount)
    .floatColumn("quote_amount", t.quoteAmount)
    .floatColumn("executed_price", t.executedPrice)
    .intColumn("transaction_fee", Number(t.transactionFee))
    .intColumn("priority_fee", Number(t.priorityFee))
    .floatColumn("expected_slippage", t.expectedSlippage)
    .floatColumn("actual_slippage", t.actualSlippage)
    .floatColumn("transfer_fees", t.transferFees);
  if (t.signature !== null) buffer.stringColumn("signature", t.signature);
  if (t.slot !== null) buffer.intColumn("slot", Number(t.slot));
  if (t.realizedPnl !== null) buffer.floatColumn("realized_pnl", t.realizedPnl);
  buffer.at(t.timestamp, "us");
}

/** The `trades` columns in the order `tradeFromRow` reads them. */
export const TRADE_SELECT =
  "timestamp, trade_id, signature, action, base_token, quote_token, base_amount, quote_amount, executed_price, " +
  "transaction_fee, priority_fee, expected_slippage, actual_slippage, mev_status, transfer_fees, strategy, venue, " +
  "slot, realized_pnl, writer";

export interface TradeRow {
  timestamp: bigint;
  trade_id: string;
  signature: string | null;
  action: string;
  base_token: string;
  quote_token: string;
  base_amount: number;
  quote_amount: number;
  executed_price: number;
  transaction_fee: bigint | null;
  priority_fee: bigint | null;
  expected_slippage: number;
  actual_slippage: number;
  mev_status: string;
  transfer_fees: number;
  strategy: string | null;
  venue: string | null;
  slot: bigint | null;
  realized_pnl: number | null;
  writer: string | null;
}

export function tradeFromRow(row: TradeRow): Trade {
  return {
    timestamp: row.timestamp,
    tradeId: row.trade_id,
    signature: row.signature,
    action: row.action as TradeAction,
    baseToken: row.base_token,
    quoteToken: row.quote_token,
    baseAmount: row.base_amount,
    quoteAmount: row.quote_amount,
    executedPrice: row.executed_price,
    transactionFee: row.transaction_fee ?? 0n,
    priorityFee: row.priority_fee ?? 0n,
    expectedSlippage: row.expected_slippage,
    actualSlippage: row.actual_slippage,
    mevStatus: row.mev_status as MevStatus,
    transferFees: row.transfer_fees,
    strategy: row.strategy,
    venue: row.venue,
    slot: row.slot,
    realizedPnl: row.realized_pnl,
    writer: row.writer,
  };
}
