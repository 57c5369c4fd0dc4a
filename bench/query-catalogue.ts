// The dashboard queries of the query benchmark (issue 13, point 6), each in two forms: the GraphQL
// request a dashboard sends to the API, and the plain SQL over the base tables that a Grafana
// panel would run for the same figures (written by hand here, not taken from the app: the
// baseline is what a user would do without the API). A panel's statements run concurrently.

export interface Range {
  from: string;
  to: string;
}

export interface SqlText {
  text: string;
  values: unknown[];
}

export interface DashboardQuery {
  name: string;
  /** The drawdown's target is 1 s instead of the others' 50 / 150 ms. */
  drawdown?: true;
  /** Not one of issue 13's seven: measured and reported, its verdict in parentheses, not counted. */
  extra?: true;
  graphql(range: Range): { query: string; variables: Record<string, unknown> };
  sql(range: Range): SqlText[];
}

const STATS_FIELDS =
  "bucket group { baseToken quoteToken strategy } count baseVolume quoteVolume vwap minPrice maxPrice firstPrice lastPrice transactionFees priorityFees transferFees meanSlippage meanSlippageError overExpectedSlippageShare";
const LATENCY_FIELDS = "bucket stage count minUs meanUs p50Us p90Us p95Us p99Us p999Us maxUs";
// netBenefit and priorityFeesLamports are left out: they join the trades (the extra query below).
const MEV_FIELDS =
  "bucket protection transactions protectedShare attackRate landingRate bundleLandingRate tipsLamports lossAvoided";
const PERFORMANCE_FIELDS =
  "strategy trades closedTrades quoteVolume totalFees realizedPnl winRate profitFactor expectancy";

const params = (r: Range) => [r.from, r.to];
const HOUR_MS = 3_600_000;
/** An ISO time moved by `ms`. */
const shifted = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const IN_RANGE = "timestamp >= $1 AND timestamp < $2";

const TRADE_AGGREGATES = [
  "count() trades",
  "sum(base_amount) base_volume",
  "sum(quote_amount) quote_volume",
  "sum(quote_amount) / sum(base_amount) vwap",
  "min(executed_price) min_price",
  "max(executed_price) max_price",
  "first(executed_price) first_price",
  "last(executed_price) last_price",
  "sum(transaction_fee) transaction_fees",
  "sum(priority_fee) priority_fees",
  "sum(transfer_fees) transfer_fees",
  "avg(actual_slippage) mean_slippage",
  "avg(actual_slippage - expected_slippage) mean_slippage_error",
  "avg(CASE WHEN actual_slippage > expected_slippage THEN 1.0 ELSE 0.0 END) over_expected_share",
].join(", ");

/**
 * A Grafana panel's latency figures: QuestDB's approx_percentile (HdrHistogram) with 2 significant
 * digits, about 1 % relative error, near the API's 0.5 % (src/analytics/histogram.ts). With 3 digits
 * each SAMPLE BY group's histogram costs 5–10 times more: an hourly month took minutes.
 */
const LATENCY_AGGREGATES = [
  "count() n",
  "min(latency_us) min_us",
  "avg(latency_us) mean_us",
  ...[0.5, 0.9, 0.95, 0.99, 0.999].map((p) => `approx_percentile(latency_us, ${p}, 2) p${p * 1000}`),
  "max(latency_us) max_us",
].join(", ");

const MEV_AGGREGATES = [
  "count() transactions",
  "avg(CASE WHEN protection <> 'NONE' THEN 1.0 ELSE 0.0 END) protected_share",
  "avg(CASE WHEN outcome IN ('SANDWICHED', 'FRONT_RUN', 'BACK_RUN') THEN 1.0 ELSE 0.0 END) attack_rate",
  "avg(CASE WHEN outcome = 'LANDED' THEN 1.0 ELSE 0.0 END) landing_rate",
  "sum(CASE WHEN protection = 'JITO_BUNDLE' AND outcome = 'LANDED' THEN 1 ELSE 0 END) bundles_landed",
  "sum(CASE WHEN protection = 'JITO_BUNDLE' THEN 1 ELSE 0 END) bundles",
  "sum(tip_lamports) tips",
  "sum(loss_avoided) loss_avoided",
].join(", ");

const PERFORMANCE_AGGREGATES = [
  "count() trades",
  "count(realized_pnl) closed_trades",
  "sum(quote_amount) quote_volume",
  "sum(transaction_fee + priority_fee) total_fees",
  "sum(realized_pnl) realized_pnl",
  "sum(CASE WHEN realized_pnl > 0 THEN 1 ELSE 0 END) wins",
  "sum(CASE WHEN realized_pnl > 0 THEN realized_pnl ELSE 0.0 END) gross_profit",
  "sum(CASE WHEN realized_pnl < 0 THEN realized_pnl ELSE 0.0 END) gross_loss",
].join(", ");

const STARTING_BALANCE = 10_000;
const RUNNING = "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW";
/** Max drawdown per strategy with window functions: running Σ PnL, its running peak, the largest fall. */
const DRAWDOWN_SQL = [
  `WITH c AS (SELECT strategy, timestamp, sum(realized_pnl) OVER (PARTITION BY strategy ORDER BY timestamp ${RUNNING}) cum`,
  `FROM trades WHERE ${IN_RANGE} AND realized_pnl IS NOT NULL),`,
  `d AS (SELECT strategy, cum, greatest(0.0, max(cum) OVER (PARTITION BY strategy ORDER BY timestamp ${RUNNING})) peak FROM c)`,
  `SELECT strategy, max(peak - cum) max_drawdown, max((peak - cum) / (${STARTING_BALANCE} + peak)) max_drawdown_relative FROM d`,
].join(" ");

const PERFORMANCE_SQL = `SELECT strategy, ${PERFORMANCE_AGGREGATES} FROM trades WHERE ${IN_RANGE}`;

export const DASHBOARD_QUERIES: DashboardQuery[] = [
  {
    name: "tradeStats hourly by pair (buckets + totals)",
    graphql: (range) => ({
      query: `query tradesByPair($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR, groupBy: [PAIR]) { totals { ${STATS_FIELDS} } buckets { ${STATS_FIELDS} } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        text: `SELECT timestamp, base_token, quote_token, ${TRADE_AGGREGATES} FROM trades WHERE ${IN_RANGE} SAMPLE BY 1h`,
        values: params(range),
      },
      {
        text: `SELECT base_token, quote_token, ${TRADE_AGGREGATES} FROM trades WHERE ${IN_RANGE}`,
        values: params(range),
      },
    ],
  },
  {
    name: "tradeStats daily by strategy (buckets + totals)",
    graphql: (range) => ({
      query: `query tradesByStrategy($r: TimeRange!) { tradeStats(range: $r, bucket: DAY, groupBy: [STRATEGY]) { totals { ${STATS_FIELDS} } buckets { ${STATS_FIELDS} } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        text: `SELECT timestamp, strategy, ${TRADE_AGGREGATES} FROM trades WHERE ${IN_RANGE} SAMPLE BY 1d`,
        values: params(range),
      },
      { text: `SELECT strategy, ${TRADE_AGGREGATES} FROM trades WHERE ${IN_RANGE}`, values: params(range) },
    ],
  },
  {
    // Figures with statements of their own (the slippage bins, the fees per currency), read a
    // UTC day at a time.
    name: "tradeStats daily by strategy with p95 slippage and transfer fees by currency (extra)",
    extra: true,
    graphql: (range) => ({
      query: `query tradesDailyExtra($r: TimeRange!) { tradeStats(range: $r, bucket: DAY, groupBy: [STRATEGY]) { buckets { bucket group { strategy } count p95Slippage transferFeesByCurrency { token amount } } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        // approx_percentile refuses negative values (slippage may be negative): the 1-bp bins a
        // panel would fold itself.
        text: `SELECT timestamp, strategy, floor(actual_slippage * 10000) k, count() n FROM trades WHERE ${IN_RANGE} SAMPLE BY 1d`,
        values: params(range),
      },
      {
        text: `SELECT timestamp, strategy, quote_token, sum(transfer_fees) transfer_fees FROM trades WHERE ${IN_RANGE} SAMPLE BY 1d`,
        values: params(range),
      },
    ],
  },
  {
    name: "latencyStats per stage, totals",
    graphql: (range) => ({
      query: `query latencyTotals($r: TimeRange!) { latencyStats(range: $r) { totals { ${LATENCY_FIELDS} } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      { text: `SELECT stage, ${LATENCY_AGGREGATES} FROM latency_metrics WHERE ${IN_RANGE}`, values: params(range) },
    ],
  },
  {
    name: "latencyStats per stage, hourly",
    graphql: (range) => ({
      query: `query latencyHourly($r: TimeRange!) { latencyStats(range: $r, bucket: HOUR) { buckets { ${LATENCY_FIELDS} } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        text: `SELECT timestamp, stage, ${LATENCY_AGGREGATES} FROM latency_metrics WHERE ${IN_RANGE} SAMPLE BY 1h`,
        values: params(range),
      },
    ],
  },
  {
    name: "mevEffectiveness daily by protection",
    graphql: (range) => ({
      query: `query mevDaily($r: TimeRange!) { mevEffectiveness(range: $r, bucket: DAY, groupBy: [PROTECTION]) { totals { ${MEV_FIELDS} } buckets { ${MEV_FIELDS} } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        text: `SELECT timestamp, protection, ${MEV_AGGREGATES} FROM mev_metrics WHERE ${IN_RANGE} SAMPLE BY 1d`,
        values: params(range),
      },
      { text: `SELECT protection, ${MEV_AGGREGATES} FROM mev_metrics WHERE ${IN_RANGE}`, values: params(range) },
    ],
  },
  {
    // The figures that need statements of their own (the link join, the tip percentiles, the
    // money per currency), read a UTC day at a time; the plain SQL is the join alone.
    name: "mevEffectiveness daily with links, tips and currencies (extra)",
    extra: true,
    graphql: (range) => ({
      query: `query mevLinked($r: TimeRange!) { mevEffectiveness(range: $r, bucket: DAY, groupBy: [PROTECTION]) { buckets { bucket protection transactions linkedTrades priorityFeesLamports statusMismatches tipPerLandedBundle { p50Lamports p90Lamports } byCurrency { token lossAvoided } } } }`,
      variables: { r: range },
    }),
    sql: (range) => [
      {
        text: `SELECT timestamp_floor('1d', m.timestamp) timestamp, m.protection protection, count() linked, sum(t.priority_fee) fees FROM (SELECT trade_id, writer, priority_fee FROM trades WHERE timestamp >= $3 AND timestamp < $4) t JOIN (SELECT timestamp, trade_id, writer, protection FROM mev_metrics WHERE ${IN_RANGE}) m ON t.trade_id = m.trade_id AND t.writer = m.writer`,
        values: [...params(range), shifted(range.from, -HOUR_MS), shifted(range.to, HOUR_MS)],
      },
    ],
  },
  {
    name: "strategyPerformance, no drawdown",
    graphql: (range) => ({
      query: `query performance($r: TimeRange!) { strategyPerformance(range: $r) { ${PERFORMANCE_FIELDS} } }`,
      variables: { r: range },
    }),
    sql: (range) => [{ text: PERFORMANCE_SQL, values: params(range) }],
  },
  {
    // Sharpe, Sortino, CAGR, the days won and the best day: the daily PnL, a statement of its own
    // read a UTC day at a time; the plain SQL is that daily PnL.
    name: "strategyPerformance with daily risk figures (extra)",
    extra: true,
    graphql: (range) => ({
      query: `query risk($r: TimeRange!, $b: Float) { strategyPerformance(range: $r, startingBalance: $b) { strategy sharpe sortino cagr daysWon daysLost bestDay { day realizedPnl } } }`,
      variables: { r: range, b: STARTING_BALANCE },
    }),
    sql: (range) => [
      {
        text: `SELECT strategy, timestamp, sum(realized_pnl) pnl FROM trades WHERE ${IN_RANGE} AND realized_pnl IS NOT NULL SAMPLE BY 1d`,
        values: params(range),
      },
    ],
  },
  {
    name: "strategyPerformance with drawdown",
    drawdown: true,
    graphql: (range) => ({
      query: `query drawdown($r: TimeRange!, $b: Float) { strategyPerformance(range: $r, startingBalance: $b) { ${PERFORMANCE_FIELDS} maxDrawdown maxDrawdownRelative } }`,
      variables: { r: range, b: STARTING_BALANCE },
    }),
    sql: (range) => [
      { text: PERFORMANCE_SQL, values: params(range) },
      { text: DRAWDOWN_SQL, values: params(range) },
    ],
  },
];
