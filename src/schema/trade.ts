// The Trade type with its mutations (recordTrade, recordTrades) and its query (trades).
import { queryTrades } from "../analytics/trades.ts";
import { BadInputError } from "../errors.ts";
import { TRADE_RECORDS, type TradeInput } from "../ingest/trade-record.ts";
import { MAX_AMOUNT, MAX_KEY_LENGTH, MAX_NAME_LENGTH, MAX_SLIPPAGE } from "../ingest/validation.ts";
import { MEV_STATUSES, TRADE_ACTIONS, type Trade } from "../questdb/trade-table.ts";
import { checkTradeFilter, MAX_LIST_ITEMS } from "./arguments.ts";
import { builder } from "./builder.ts";
import { defineRecordMutations, WRITER_DESCRIPTION } from "./record.ts";
import "./scalars.ts";
import { MAX_PAGE_SIZE_DEFAULT } from "../config.ts";

export const TradeActionEnum = builder.enumType("TradeAction", { values: TRADE_ACTIONS });
export const MevStatusEnum = builder.enumType("MevStatus", {
  description:
    "What happened to the trade with respect to MEV: PROTECTED (sent through a protection and landed unharmed), UNPROTECTED (sent publicly, no attack seen), SANDWICHED, FRONT_RUN, BACK_RUN, UNKNOWN.",
  values: MEV_STATUSES,
});
const SortOrderEnum = builder.enumType("SortOrder", { values: ["ASC", "DESC"] as const });

export const TradeRef = builder.objectRef<Trade>("Trade").implement({
  description: "One executed trade: the Enhanced Trade Model plus its idempotency key and context.",
  fields: (t) => ({
    timestamp: t.field({ type: "Timestamp", resolve: (r) => r.timestamp }),
    tradeId: t.exposeString("tradeId", {
      description: "Idempotency key (per writer): the client's id, the signature, or a UUID.",
    }),
    signature: t.exposeString("signature", { nullable: true }),
    action: t.field({ type: TradeActionEnum, resolve: (r) => r.action }),
    baseToken: t.exposeString("baseToken"),
    quoteToken: t.exposeString("quoteToken"),
    baseAmount: t.exposeFloat("baseAmount"),
    quoteAmount: t.exposeFloat("quoteAmount"),
    executedPrice: t.exposeFloat("executedPrice", { description: "Quote units per base unit." }),
    transactionFee: t.field({ type: "Long", description: "Lamports.", resolve: (r) => r.transactionFee }),
    priorityFee: t.field({ type: "Long", description: "Lamports.", resolve: (r) => r.priorityFee }),
    expectedSlippage: t.exposeFloat("expectedSlippage", { description: "Fraction (0.01 = 1%)." }),
    actualSlippage: t.exposeFloat("actualSlippage", { description: "Fraction; negative is price improvement." }),
    mevStatus: t.field({ type: MevStatusEnum, resolve: (r) => r.mevStatus }),
    transferFees: t.exposeFloat("transferFees", {
      description: "Token-2022 transfer fees, in units of the quote token.",
    }),
    strategy: t.exposeString("strategy", { nullable: true }),
    venue: t.exposeString("venue", { nullable: true }),
    slot: t.field({ type: "Long", nullable: true, resolve: (r) => r.slot }),
    realizedPnl: t.exposeFloat("realizedPnl", { nullable: true, description: "In quote units." }),
    writer: t.exposeString("writer", {
      nullable: true,
      description: WRITER_DESCRIPTION,
    }),
  }),
});

const NAME_RULE = `1–${MAX_NAME_LENGTH} characters: letters, digits and _ . : / -, starting with a letter or digit`;
const AMOUNT_RULE = `finite, 0 to ${MAX_AMOUNT}`;

const TradeInputRef = builder.inputType("TradeInput", {
  description: `A trade as a bot reports it. Amounts, prices and transfer fees are ${AMOUNT_RULE}; fees and slot 0 to 2^53-1; slippage fractions within ±${MAX_SLIPPAGE}.`,
  fields: (t) => ({
    tradeId: t.string({
      description: `Idempotency key (1–${MAX_KEY_LENGTH} printable ASCII, no spaces). Defaults to the signature, else a server-made UUID.`,
    }),
    signature: t.string({ description: "Base58 transaction signature, 64 to 88 characters." }),
    timestamp: t.field({
      type: "Timestamp",
      description:
        "Execution time. Required with tradeId or signature (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to the time of acceptance. At most MAX_CLOCK_SKEW_MS in the future, not older than the retention.",
    }),
    action: t.field({ type: TradeActionEnum, required: true }),
    baseToken: t.string({ required: true, description: `Mint address or symbol, ${NAME_RULE}.` }),
    quoteToken: t.string({ required: true, description: `Mint address or symbol, ${NAME_RULE}.` }),
    baseAmount: t.float({ required: true, description: `Token units, ${AMOUNT_RULE}.` }),
    quoteAmount: t.float({ required: true, description: `Token units, ${AMOUNT_RULE}.` }),
    executedPrice: t.float({ required: true, description: `Quote units per base unit, ${AMOUNT_RULE}.` }),
    transactionFee: t.field({ type: "Long", required: true, description: "Lamports, 0 to 2^53-1." }),
    priorityFee: t.field({ type: "Long", required: true, description: "Lamports, 0 to 2^53-1." }),
    expectedSlippage: t.float({
      required: true,
      description: `Fraction, 0 to ${MAX_SLIPPAGE} (0.005 is 0.5 %, not 50 basis points).`,
    }),
    actualSlippage: t.float({
      required: true,
      description: `Fraction, -${MAX_SLIPPAGE} to ${MAX_SLIPPAGE}; negative is price improvement.`,
    }),
    mevStatus: t.field({ type: MevStatusEnum, required: true }),
    transferFees: t.float({
      required: true,
      description: `Token-2022 transfer fees, in units of the quote token (reported per quote token), ${AMOUNT_RULE}.`,
    }),
    strategy: t.string({ description: NAME_RULE }),
    venue: t.string({ description: NAME_RULE }),
    slot: t.field({ type: "Long", description: "0 to 2^53-1." }),
    realizedPnl: t.float({
      description: `Realized profit or loss of the trade, in quote units, -${MAX_AMOUNT} to ${MAX_AMOUNT}.`,
    }),
  }),
});

const FloatRangeRef = builder.inputType("FloatRange", {
  description: `Inclusive bounds; either may be left out. Slippage bounds are fractions within ±${MAX_SLIPPAGE}.`,
  fields: (t) => ({ min: t.float(), max: t.float() }),
});

const LongRangeRef = builder.inputType("LongRange", {
  description: "Inclusive bounds; either may be left out. Fee bounds are 0 to 2^53-1 lamports (totalFee 0 to 2^54-2).",
  fields: (t) => ({ min: t.field({ type: "Long" }), max: t.field({ type: "Long" }) }),
});

const PairRef = builder.inputType("PairInput", {
  description: `Both tokens, each ${NAME_RULE}.`,
  fields: (t) => ({ baseToken: t.string({ required: true }), quoteToken: t.string({ required: true }) }),
});

export const TradeFilterRef = builder.inputType("TradeFilter", {
  description: `Every field is optional; all given are combined with AND. Names follow the ingest rule (${NAME_RULE}); a refused value names its field.`,
  fields: (t) => ({
    from: t.field({ type: "Timestamp", description: "Inclusive; before to, at most 3660 days from it." }),
    to: t.field({ type: "Timestamp", description: "Exclusive." }),
    baseToken: t.string({ description: NAME_RULE }),
    quoteToken: t.string({ description: NAME_RULE }),
    action: t.field({ type: TradeActionEnum }),
    strategy: t.string({ description: NAME_RULE }),
    venue: t.string({ description: NAME_RULE }),
    mevStatus: t.field({
      type: [MevStatusEnum],
      description: `Any of these (at most ${MAX_LIST_ITEMS} items, duplicates ignored); [] matches nothing.`,
    }),
    tradeId: t.string({ description: `1–${MAX_KEY_LENGTH} printable ASCII, no spaces.` }),
    signature: t.string({ description: "Base58, 64 to 88 characters." }),
    writer: t.string({ description: `The name of the API key that recorded the trade. ${NAME_RULE}` }),
    pair: t.field({ type: PairRef, description: "Both tokens of a pair." }),
    actualSlippage: t.field({ type: FloatRangeRef, description: "Fraction (0.01 = 1%)." }),
    expectedSlippage: t.field({ type: FloatRangeRef, description: "Fraction (0.01 = 1%)." }),
    transactionFee: t.field({ type: LongRangeRef, description: "Lamports." }),
    priorityFee: t.field({ type: LongRangeRef, description: "Lamports." }),
    totalFee: t.field({ type: LongRangeRef, description: "transactionFee + priorityFee, lamports." }),
  }),
});

defineRecordMutations<TradeInput, Trade>({
  one: "recordTrade",
  many: "recordTrades",
  what: "trades",
  input: TradeInputRef,
  kind: TRADE_RECORDS,
});

const TradeEdgeRef = builder.objectRef<{ cursor: string; node: Trade }>("TradeEdge").implement({
  fields: (t) => ({
    cursor: t.exposeString("cursor"),
    node: t.field({ type: TradeRef, resolve: (e) => e.node }),
  }),
});

const PageInfoRef = builder.objectRef<{ hasNextPage: boolean; endCursor: string | null }>("PageInfo").implement({
  fields: (t) => ({
    hasNextPage: t.exposeBoolean("hasNextPage"),
    endCursor: t.exposeString("endCursor", { nullable: true }),
  }),
});

const TradeConnectionRef = builder
  .objectRef<{ edges: { cursor: string; node: Trade }[]; hasNextPage: boolean }>("TradeConnection")
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [TradeEdgeRef], resolve: (c) => c.edges }),
      nodes: t.field({ type: [TradeRef], resolve: (c) => c.edges.map((e) => e.node) }),
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.edges.at(-1)?.cursor ?? null }),
      }),
    }),
  });

builder.queryFields((t) => ({
  trades: t.field({
    type: TradeConnectionRef,
    description: `Trade history, newest first by default; keyset cursors stay valid while rows arrive. first: 1 to MAX_PAGE_SIZE (default ${MAX_PAGE_SIZE_DEFAULT}).`,
    args: {
      filter: t.arg({ type: TradeFilterRef }),
      first: t.arg.int({ required: true, defaultValue: 50 }),
      after: t.arg.string({
        description:
          "A cursor from an earlier page (pageInfo.endCursor or an edge's cursor); anything else is refused.",
      }),
      order: t.arg({ type: SortOrderEnum, required: true, defaultValue: "DESC" }),
    },
    resolve: (_root, args, { services, reads }) => {
      if (args.first < 1 || args.first > services.maxPageSize) {
        throw new BadInputError(
          "first",
          `must be from 1 to ${services.maxPageSize} (MAX_PAGE_SIZE), got ${args.first}`,
        );
      }
      return queryTrades(reads, services.tables.trades, {
        filter: checkTradeFilter(args.filter),
        first: args.first,
        after: args.after,
        order: args.order,
      });
    },
  }),
}));
