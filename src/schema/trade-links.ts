// Trade fields that follow the trade's key into the other tables: its latency measurements and
// its MEV record. Per-request DataLoaders (context.ts) turn a page of trades into one SQL
// statement per field.
import { LINK_WINDOW_MICROS } from "../analytics/trade-links.ts";
import { builder } from "./builder.ts";
import { LatencyMetricRef } from "./latency.ts";
import { MevMetricRef } from "./mev.ts";
import { TradeRef } from "./trade.ts";

const WINDOW = `${Number(LINK_WINDOW_MICROS / 60_000_000n)} minutes`;

builder.objectFields(TradeRef, (t) => ({
  latencyMetrics: t.field({
    type: [LatencyMetricRef],
    description: `The latency measurements recorded with this trade's tradeId by the same writer (API key), oldest first (those timestamped within ${WINDOW} of the trade).`,
    resolve: (trade, _args, { loaders }) =>
      loaders.latencyByTrade.load({ tradeId: trade.tradeId, writer: trade.writer, timestamp: trade.timestamp }),
  }),
  mev: t.field({
    type: MevMetricRef,
    nullable: true,
    description: `The MEV record with this trade's tradeId by the same writer (API key), timestamped within ${WINDOW} of the trade; the latest if several.`,
    resolve: (trade, _args, { loaders }) =>
      loaders.mevByTrade.load({ tradeId: trade.tradeId, writer: trade.writer, timestamp: trade.timestamp }),
  }),
}));
