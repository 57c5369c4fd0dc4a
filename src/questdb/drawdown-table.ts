// The drawdown's hourly summaries, shared by every instance (analytics/drawdown-periods.ts): per
// hour, scope (groupBy, strategy and writer filters) and group, the summary of the hour's closed
// trades (analytics/drawdown.ts) and the fingerprint it was computed under; declared once
// (questdb/descriptor.ts).
import { column as c, defineTable } from "./descriptor.ts";

const at = (name: string) => c.nullable(c.timestamp(name));

export const DRAWDOWN_HOURS = defineTable({
  name: "drawdown_hours",
  dedupKeys: ["scope", "strategy", "base_token", "quote_token"],
  fields: {
    timestamp: c.timestamp("timestamp"),
    scope: c.symbol("scope"),
    strategy: c.nullable(c.symbol("strategy")),
    baseToken: c.nullable(c.symbol("base_token")),
    quoteToken: c.nullable(c.symbol("quote_token")),
    fingerprint: c.varchar("fingerprint"),
    n: c.long("n"),
    total: c.double("total"),
    top: c.double("top"),
    topAt: at("top_at"),
    low: c.double("low"),
    lowN: c.long("low_n"),
    lowAt: at("low_at"),
    lowHigh: c.double("low_high"),
    lowHighAt: at("low_high_at"),
    lowAfter: c.double("low_after"),
    maxDrop: c.double("max_drop"),
    dropN: c.long("drop_n"),
    dropAt: at("drop_at"),
    dropHigh: c.double("drop_high"),
    dropHighAt: at("drop_high_at"),
    dropAfter: c.double("drop_after"),
  },
});
