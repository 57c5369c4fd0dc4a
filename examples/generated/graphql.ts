import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
export type MakeOptional<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]?: Maybe<T[SubKey]> };
export type MakeMaybe<T, K extends keyof T> = Omit<T, K> & { [SubKey in K]: Maybe<T[SubKey]> };
export type MakeEmpty<T extends { [key: string]: unknown }, K extends keyof T> = { [_ in K]?: never };
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A 64-bit integer (lamports, slots, microseconds) from -(2^63-1) to 2^63-1. Output is a decimal string so no digit is lost; input takes a decimal string or an integer JSON number up to 2^53. Fields say their own narrower bounds (stored figures: 0 to 2^53-1). */
  Long: { input: string | number; output: string; }
  /** A UTC instant with microsecond precision, as ISO-8601 / RFC 3339: `2026-01-31T12:00:00.123456Z`. Input accepts Z or an offset from -14:00 to +14:00 (minutes 00–59), 0 to 6 fractional digits (more only if zeros), a real calendar date and time (no Feb 30, hour 24 or second 60), years 0001 to 9999, at most 40 characters; output always has 6 digits and Z. */
  Timestamp: { input: string; output: string; }
};

export type AlertEvent = {
  __typename?: 'AlertEvent';
  at: Scalars['Timestamp']['output'];
  eventId: Scalars['String']['output'];
  kind: AlertKind;
  message: Scalars['String']['output'];
  ruleId: Scalars['String']['output'];
  state: AlertState;
  /** In `unit`. */
  threshold: Scalars['Float']['output'];
  unit: AlertUnit;
  /** In `unit`. */
  value: Scalars['Float']['output'];
};

/** LATENCY_P99: p99 latency of a stage (microseconds). SANDWICH_RATE: share of SANDWICHED trades (a fraction 0–1). NO_TRADES: seconds since the last trade. QUEUE_DEPTH: rows queued in an instance. ATTACK_RATE: share of attacked trades (a fraction 0–1). */
export type AlertKind =
  | 'ATTACK_RATE'
  | 'LATENCY_P99'
  | 'NO_TRADES'
  | 'QUEUE_DEPTH'
  | 'SANDWICH_RATE';

export type AlertRule = {
  __typename?: 'AlertRule';
  hysteresis: Scalars['Float']['output'];
  id: Scalars['String']['output'];
  kind: AlertKind;
  stage: Maybe<Scalars['String']['output']>;
  /** In `unit`. */
  threshold: Scalars['Float']['output'];
  unit: AlertUnit;
  windowSeconds: Scalars['Int']['output'];
};

/** LATENCY_P99: p99 of `stage` over windowSeconds above threshold microseconds. SANDWICH_RATE: share of SANDWICHED trades over windowSeconds above threshold, a fraction 0–1 (0.02 is 2 %). NO_TRADES: no trade for threshold seconds. QUEUE_DEPTH: an instance's ingest queue above threshold rows. ATTACK_RATE: share of attacked trades (SANDWICHED, FRONT_RUN or BACK_RUN) over windowSeconds above threshold, a fraction 0–1. Resolves below threshold × (1 − hysteresis). */
export type AlertRuleInput = {
  /** From 0 to below 1; default 0.1. */
  hysteresis?: InputMaybe<Scalars['Float']['input']>;
  /** 1 to 64 letters, digits and _ . : -. Default: a new UUID; an existing id replaces that rule. */
  id?: InputMaybe<Scalars['String']['input']>;
  kind: AlertKind;
  /** LATENCY_P99 only: the stage, 1–64 characters as on ingest. */
  stage?: InputMaybe<Scalars['String']['input']>;
  /** In the kind's unit (AlertUnit): microseconds, a fraction 0–1, seconds or whole rows; 0 to 1e15. */
  threshold: Scalars['Float']['input'];
  /** 1 to 86400; default 60. */
  windowSeconds?: InputMaybe<Scalars['Int']['input']>;
};

export type AlertState =
  | 'FIRING'
  | 'RESOLVED';

/** The unit of a rule's threshold and of its events' values: the unit the queries answer in (latency in microseconds, rates as fractions 0–1). */
export type AlertUnit =
  | 'FRACTION'
  | 'MICROSECONDS'
  | 'ROWS'
  | 'SECONDS';

/** An amount in one currency. */
export type CurrencyAmount = {
  __typename?: 'CurrencyAmount';
  /** In units of token. */
  amount: Scalars['Float']['output'];
  /** The quote token. */
  token: Maybe<Scalars['String']['output']>;
};

/** Realized PnL of one UTC day (the closed trades of that day within the range). */
export type DayPnl = {
  __typename?: 'DayPnl';
  /** The day's start, 00:00 UTC. */
  day: Scalars['Timestamp']['output'];
  realizedPnl: Scalars['Float']['output'];
};

/** When a record* mutation answers. */
export type Durability =
  /** Once QuestDB has acknowledged the flush that holds every row (committed to its WAL). */
  | 'COMMITTED'
  /** Once the rows are validated and queued in the server (at most one batch interval from QuestDB). */
  | 'QUEUED';

/** Inclusive bounds; either may be left out. Slippage bounds are fractions within ±1. */
export type FloatRange = {
  max?: InputMaybe<Scalars['Float']['input']>;
  min?: InputMaybe<Scalars['Float']['input']>;
};

/** How long one stage of the bot's pipeline took. */
export type LatencyMetric = {
  __typename?: 'LatencyMetric';
  /** Microseconds. */
  latencyUs: Scalars['Long']['output'];
  /** Idempotency key (per writer). */
  metricId: Scalars['String']['output'];
  /** quote, build, sign, submit, confirm, e2e, … */
  stage: Scalars['String']['output'];
  strategy: Maybe<Scalars['String']['output']>;
  success: Scalars['Boolean']['output'];
  timestamp: Scalars['Timestamp']['output'];
  /** The trade this measurement belongs to. */
  tradeId: Maybe<Scalars['String']['output']>;
  /** The name of the API key that recorded it ("anonymous" when the server runs without keys). With the timestamp and the idempotency key it is the row's identity: what another key sends with the same timestamp and key is a row of its own, never a replacement. Null for rows recorded before writers were stored. */
  writer: Maybe<Scalars['String']['output']>;
};

export type LatencyMetricInput = {
  /** Microseconds, not negative. */
  latencyUs: Scalars['Long']['input'];
  /** Idempotency key. Defaults to `<tradeId>:<stage>` when tradeId is given, else a server-made UUID. */
  metricId?: InputMaybe<Scalars['String']['input']>;
  /** Stage name, 1–64 characters: quote, build, sign, submit, … */
  stage: Scalars['String']['input'];
  strategy?: InputMaybe<Scalars['String']['input']>;
  /** Default true. */
  success?: InputMaybe<Scalars['Boolean']['input']>;
  /** When the stage finished. Required with metricId or tradeId (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to acceptance time. */
  timestamp?: InputMaybe<Scalars['Timestamp']['input']>;
  /** Links the measurement to a trade's tradeId. */
  tradeId?: InputMaybe<Scalars['String']['input']>;
};

/** Latency statistics over a range; each field runs its own (cached) query only when asked for. */
export type LatencyStats = {
  __typename?: 'LatencyStats';
  bucket: Maybe<TimeBucket>;
  /** One row per bucket and stage with measurements in the range, in bucket then stage order; a stage's buckets without measurements have count 0. Empty when no bucket was given or the range has none. */
  buckets: Array<LatencyStatsRow>;
  from: Scalars['Timestamp']['output'];
  stage: Maybe<Scalars['String']['output']>;
  to: Scalars['Timestamp']['output'];
  /** One row per stage with measurements in the range, by stage name (none for an empty range, a named stage included). */
  totals: Array<LatencyStatsRow>;
};

/** Latency of one stage in one bucket (or over the whole range), in microseconds. */
export type LatencyStatsRow = {
  __typename?: 'LatencyStatsRow';
  /** Bucket start (UTC); null in totals. */
  bucket: Maybe<Scalars['Timestamp']['output']>;
  /** Measurements (successful or not). */
  count: Scalars['Int']['output'];
  /** Exact. */
  maxUs: Maybe<Scalars['Long']['output']>;
  /** Exact: Σ latency / count. */
  meanUs: Maybe<Scalars['Float']['output']>;
  /** Exact. */
  minUs: Maybe<Scalars['Long']['output']>;
  /** Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value. */
  p50Us: Maybe<Scalars['Float']['output']>;
  /** Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value. */
  p90Us: Maybe<Scalars['Float']['output']>;
  /** Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value. */
  p95Us: Maybe<Scalars['Float']['output']>;
  /** Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value. */
  p99Us: Maybe<Scalars['Float']['output']>;
  /** 99.9th percentile. Nearest-rank percentile estimated from log-spaced bins (floor(ln µs × 100)): within 0.503 % of the exact value, exact when the bin holds one distinct value. */
  p999Us: Maybe<Scalars['Float']['output']>;
  stage: Maybe<Scalars['String']['output']>;
};

/** Rolling figures over the last windowSeconds, ending at `at` (a whole second). */
export type LiveMetrics = {
  __typename?: 'LiveMetrics';
  at: Scalars['Timestamp']['output'];
  /** Duration of this API instance's latest flush to QuestDB, retries included (ms). */
  ingestFlushMs: Scalars['Float']['output'];
  /** Rows queued or in flight in this API instance. */
  ingestQueueDepth: Scalars['Int']['output'];
  /** Rows this API instance dead-lettered since it started. */
  ingestRejectedRows: Scalars['Int']['output'];
  latency: Array<StageLatency>;
  /** Share (0–1) of trades attacked: mevStatus SANDWICHED, FRONT_RUN or BACK_RUN (docs/queries.md#mev-vocabulary). */
  mevAttackedRate: Scalars['Float']['output'];
  /** Share (0–1) of trades PROTECTED. */
  mevProtectedRate: Scalars['Float']['output'];
  trades: Scalars['Int']['output'];
  tradesPerSecond: Scalars['Float']['output'];
  /** Quote volume. */
  volume: Scalars['Float']['output'];
  windowSeconds: Scalars['Int']['output'];
};

/** Inclusive bounds; either may be left out. Fee bounds are 0 to 2^53-1 lamports (totalFee 0 to 2^54-2). */
export type LongRange = {
  max?: InputMaybe<Scalars['Long']['input']>;
  min?: InputMaybe<Scalars['Long']['input']>;
};

/** MEV money in one currency: the quote token recorded on the MEV rows. Amounts of different tokens are never added together. */
export type MevCurrencyAmounts = {
  __typename?: 'MevCurrencyAmounts';
  /** realizedProfit / expectedProfit; null without opportunities or when expectedProfit is 0. */
  captureRatio: Maybe<Scalars['Float']['output']>;
  /** Σ expected profit of the opportunities. */
  expectedProfit: Scalars['Float']['output'];
  /** Σ estimated loss avoided (null counts as 0). */
  lossAvoided: Scalars['Float']['output'];
  /** Rows with an expected profit. */
  opportunities: Scalars['Int']['output'];
  /** Σ realized profit of the opportunities (a missing one counts as 0). */
  realizedProfit: Scalars['Float']['output'];
  /** The quote token; null for rows recorded without one (currency unknown). */
  token: Maybe<Scalars['String']['output']>;
  transactions: Scalars['Int']['output'];
};

/** MEV protection results over a range; each field runs its own (cached) query only when asked for. */
export type MevEffectiveness = {
  __typename?: 'MevEffectiveness';
  bucket: Maybe<TimeBucket>;
  /** One row per bucket and group, empty buckets included. Empty when no bucket was given. */
  buckets: Array<MevEffectivenessRow>;
  from: Scalars['Timestamp']['output'];
  groupBy: Array<MevGroupKey>;
  to: Scalars['Timestamp']['output'];
  /** One row per group with transactions in the range, in group order (one row when not grouped; none for an empty range, grouped or not). */
  totals: Array<MevEffectivenessRow>;
};

/** MEV results of the transactions in one bucket and group (one mev_metrics row per transaction). Rates are 0..1 and null when their denominator is 0; money per currency in byCurrency, tips and fees in lamports. Attacked, its parts and landed are defined once (docs/queries.md#mev-vocabulary). */
export type MevEffectivenessRow = {
  __typename?: 'MevEffectivenessRow';
  /** attacks / transactions. */
  attackRate: Maybe<Scalars['Float']['output']>;
  /** Transactions attacked: outcome SANDWICHED, FRONT_RUN or BACK_RUN (= sandwiched + frontRun + backRun). */
  attacks: Scalars['Int']['output'];
  /** Transactions with attackDetected. */
  attacksDetected: Scalars['Int']['output'];
  /** Transactions with outcome BACK_RUN. */
  backRun: Scalars['Int']['output'];
  /** Bucket start (UTC); null in totals. */
  bucket: Maybe<Scalars['Timestamp']['output']>;
  /** Landed bundles / bundles. */
  bundleLandingRate: Maybe<Scalars['Float']['output']>;
  /** Transactions sent as JITO_BUNDLE. */
  bundles: Scalars['Int']['output'];
  /** Loss avoided and profits per quote token recorded on the MEV rows (token null: rows without one), tokens in name order. One statement for all rows, only when asked for. */
  byCurrency: Array<MevCurrencyAmounts>;
  /**
   * realizedProfit / expectedProfit; null without opportunities or when expectedProfit is 0.
   * @deprecated Adds the amounts of every quote token as if they were one currency; read byCurrency.
   */
  captureRatio: Maybe<Scalars['Float']['output']>;
  /**
   * Σ expected profit of the opportunities.
   * @deprecated Adds the amounts of every quote token as if they were one currency; read byCurrency.
   */
  expectedProfit: Scalars['Float']['output'];
  /** Transactions with outcome FRONT_RUN. */
  frontRun: Scalars['Int']['output'];
  /** Transactions that landed (outcome neither FAILED nor DROPPED). */
  landed: Scalars['Int']['output'];
  /** landed / transactions. */
  landingRate: Maybe<Scalars['Float']['output']>;
  /** MEV rows whose trade was found (same tradeId and writer, within an hour). From the join. */
  linkedTrades: Scalars['Int']['output'];
  /**
   * Σ estimated loss avoided (quote units of every token added together).
   * @deprecated Adds the amounts of every quote token as if they were one currency; read byCurrency.
   */
  lossAvoided: Scalars['Float']['output'];
  /**
   * lossAvoided − (tipsLamports + priorityFeesLamports) / 1e9 × solPrice, in quote units. solPrice converts lamports: the price of 1 SOL in the quote token (1 when the quote is SOL).
   * @deprecated Adds the loss avoided of every quote token as one currency; use netBenefitAt(prices).
   */
  netBenefit: Scalars['Float']['output'];
  /** Σ lossAvoided × price of its quote token − (tipsLamports + priorityFeesLamports) / 10⁹ × price of SOL, in the currency the prices are given in. Parts without a price are left out and listed in unconvertedTokens. */
  netBenefitAt: MevNetBenefit;
  /** The bot's own opportunities: transactions with an expected profit. */
  opportunities: Scalars['Int']['output'];
  /** Σ priorityFee × 10⁶ / Σ computeUnits over the linked rows that recorded computeUnits: micro-lamports per compute unit (the average compute-unit price, weighted by units). Null without such rows. From the join. */
  priorityFeePerComputeUnit: Maybe<Scalars['Float']['output']>;
  /** Σ priority fees of the linked trades (same tradeId and writer, within an hour). Runs a join, only when asked for. */
  priorityFeesLamports: Scalars['Long']['output'];
  /** Share of transactions sent with a protection (any method but NONE). */
  protectedShare: Maybe<Scalars['Float']['output']>;
  /** Null unless grouped by PROTECTION. */
  protection: Maybe<Scalars['String']['output']>;
  /**
   * Σ realized profit of the opportunities (a missing one counts as 0).
   * @deprecated Adds the amounts of every quote token as if they were one currency; read byCurrency.
   */
  realizedProfit: Scalars['Float']['output'];
  /** Transactions with outcome SANDWICHED. */
  sandwiched: Scalars['Int']['output'];
  /** Distribution of slotsToLand over the landed transactions that recorded it: four buckets, 0, 1, 2 and 3+ slots. */
  slotsToLand: Array<SlotsToLandBucket>;
  /** Linked MEV rows whose trade's mevStatus disagrees with the outcome (docs/queries.md#mev-vocabulary: the same attack, no attack on either side, or status UNKNOWN agree). From the join. */
  statusMismatches: Scalars['Int']['output'];
  /** Null unless grouped by STRATEGY (or no strategy). */
  strategy: Maybe<Scalars['String']['output']>;
  /** Tips of the landed bundles that recorded tipFloorLamports, against that floor. */
  tipOverFloor: MevTipOverFloor;
  /** Tips of the landed bundles (JITO_BUNDLE, landed): mean exact, p50 / p90 approximate. */
  tipPerLandedBundle: MevTipStats;
  /** Σ tips paid. */
  tipsLamports: Scalars['Long']['output'];
  transactions: Scalars['Int']['output'];
  /** Null unless grouped by VENUE (or no venue recorded on the MEV rows). */
  venue: Maybe<Scalars['String']['output']>;
};


/** MEV results of the transactions in one bucket and group (one mev_metrics row per transaction). Rates are 0..1 and null when their denominator is 0; money per currency in byCurrency, tips and fees in lamports. Attacked, its parts and landed are defined once (docs/queries.md#mev-vocabulary). */
export type MevEffectivenessRowNetBenefitArgs = {
  solPrice: Scalars['Float']['input'];
};


/** MEV results of the transactions in one bucket and group (one mev_metrics row per transaction). Rates are 0..1 and null when their denominator is 0; money per currency in byCurrency, tips and fees in lamports. Attacked, its parts and landed are defined once (docs/queries.md#mev-vocabulary). */
export type MevEffectivenessRowNetBenefitAtArgs = {
  prices: Array<TokenPriceInput>;
};

/** What mevEffectiveness groups by: PROTECTION (method), STRATEGY and/or VENUE (as recorded on the MEV rows). */
export type MevGroupKey =
  | 'PROTECTION'
  | 'STRATEGY'
  | 'VENUE';

/** The MEV-protection result of one transaction. */
export type MevMetric = {
  __typename?: 'MevMetric';
  attackDetected: Scalars['Boolean']['output'];
  baseToken: Maybe<Scalars['String']['output']>;
  computeUnits: Maybe<Scalars['Int']['output']>;
  /** For the bot's own opportunities: profit expected when sent, in quote units. */
  expectedProfit: Maybe<Scalars['Float']['output']>;
  /** Estimated loss avoided, in quote units. */
  lossAvoided: Maybe<Scalars['Float']['output']>;
  /** Idempotency key (per writer). */
  metricId: Scalars['String']['output'];
  outcome: MevOutcome;
  protection: MevProtection;
  /** The currency of expectedProfit, realizedProfit and lossAvoided; null when the bot did not send it. */
  quoteToken: Maybe<Scalars['String']['output']>;
  /** Profit realized, in quote units. */
  realizedProfit: Maybe<Scalars['Float']['output']>;
  slotsToLand: Maybe<Scalars['Int']['output']>;
  strategy: Maybe<Scalars['String']['output']>;
  timestamp: Scalars['Timestamp']['output'];
  tipFloorLamports: Maybe<Scalars['Long']['output']>;
  tipLamports: Scalars['Long']['output'];
  tradeId: Maybe<Scalars['String']['output']>;
  venue: Maybe<Scalars['String']['output']>;
  /** The name of the API key that recorded it ("anonymous" when the server runs without keys). With the timestamp and the idempotency key it is the row's identity: what another key sends with the same timestamp and key is a row of its own, never a replacement. Null for rows recorded before writers were stored. */
  writer: Maybe<Scalars['String']['output']>;
};

export type MevMetricInput = {
  /** Default false. */
  attackDetected?: InputMaybe<Scalars['Boolean']['input']>;
  /** The traded pair's base token, a name. */
  baseToken?: InputMaybe<Scalars['String']['input']>;
  /** The compute-unit limit the transaction requested (its priority fee is charged on it), a whole number from 1 to 1400000. */
  computeUnits?: InputMaybe<Scalars['Int']['input']>;
  expectedProfit?: InputMaybe<Scalars['Float']['input']>;
  /** Not negative. */
  lossAvoided?: InputMaybe<Scalars['Float']['input']>;
  /** Idempotency key. Defaults to tradeId when given, else a server-made UUID. */
  metricId?: InputMaybe<Scalars['String']['input']>;
  outcome: MevOutcome;
  protection: MevProtection;
  /** The traded pair's quote token, a name: the currency of expectedProfit, realizedProfit and lossAvoided. Without it those amounts are reported under an unknown currency (token null). */
  quoteToken?: InputMaybe<Scalars['String']['input']>;
  realizedProfit?: InputMaybe<Scalars['Float']['input']>;
  /** Slots from submission to landing, 0 to 1,000,000. */
  slotsToLand?: InputMaybe<Scalars['Int']['input']>;
  strategy?: InputMaybe<Scalars['String']['input']>;
  /** Required with metricId or tradeId (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to acceptance time. */
  timestamp?: InputMaybe<Scalars['Timestamp']['input']>;
  /** The tip floor the bot saw when it sent the bundle (e.g. Jito's landed-tip percentile), lamports, 0 to 2^53−1. */
  tipFloorLamports?: InputMaybe<Scalars['Long']['input']>;
  /** Tip paid (e.g. Jito), lamports. */
  tipLamports: Scalars['Long']['input'];
  /** Links the result to a trade's tradeId. */
  tradeId?: InputMaybe<Scalars['String']['input']>;
  /** Where the transaction was routed (as on its trade), a name. */
  venue?: InputMaybe<Scalars['String']['input']>;
};

/** The net benefit converted into the prices' currency. */
export type MevNetBenefit = {
  __typename?: 'MevNetBenefit';
  /** Tokens with an amount in the figure but no price, in name order with SOL (lamport costs) last; null stands for rows without a quote token. */
  unconvertedTokens: Array<Maybe<Scalars['String']['output']>>;
  /** Over the converted parts only: complete when unconvertedTokens is empty. */
  value: Scalars['Float']['output'];
};

/** What happened: LANDED unharmed, FAILED, DROPPED (never landed), or attacked (SANDWICHED, FRONT_RUN, BACK_RUN). */
export type MevOutcome =
  | 'BACK_RUN'
  | 'DROPPED'
  | 'FAILED'
  | 'FRONT_RUN'
  | 'LANDED'
  | 'SANDWICHED';

/** How the transaction was protected: a Jito bundle, a private RPC, nothing, or something else. */
export type MevProtection =
  | 'JITO_BUNDLE'
  | 'NONE'
  | 'OTHER'
  | 'PRIVATE_RPC';

/** What happened to the trade with respect to MEV: PROTECTED (sent through a protection and landed unharmed), UNPROTECTED (sent publicly, no attack seen), SANDWICHED, FRONT_RUN, BACK_RUN, UNKNOWN. */
export type MevStatus =
  | 'BACK_RUN'
  | 'FRONT_RUN'
  | 'PROTECTED'
  | 'SANDWICHED'
  | 'UNKNOWN'
  | 'UNPROTECTED';

/** Landed bundles that recorded the tip floor the bot saw (tipFloorLamports), their tip against that floor. */
export type MevTipOverFloor = {
  __typename?: 'MevTipOverFloor';
  /** Landed bundles with a tip floor. */
  bundles: Scalars['Int']['output'];
  /** Mean of tip − floor, lamports (negative when the bot tipped under the floor); null without such bundles. */
  meanExcessLamports: Maybe<Scalars['Float']['output']>;
  /** Σ tip / Σ floor over those bundles (1: tipping at the floor); null when Σ floor is 0. */
  ratio: Maybe<Scalars['Float']['output']>;
};

/** Tips of the landed bundles (protection JITO_BUNDLE, outcome neither FAILED nor DROPPED), lamports. */
export type MevTipStats = {
  __typename?: 'MevTipStats';
  /** Landed bundles. */
  bundles: Scalars['Int']['output'];
  /** Σ tip / landed bundles, exact; null without landed bundles. */
  meanLamports: Maybe<Scalars['Float']['output']>;
  /** Median tip (nearest rank), from QuestDB's approx_percentile with precision 3: exact below 2048 lamports, otherwise at most 0.098 % above the exact value. A statement of its own, only when asked for. */
  p50Lamports: Maybe<Scalars['Float']['output']>;
  /** 90th percentile tip (nearest rank), with the precision of p50Lamports. */
  p90Lamports: Maybe<Scalars['Float']['output']>;
  totalLamports: Scalars['Long']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Admin: removes a rule on every instance (within ALERT_SYNC_MS); false when there was none with that id. */
  deleteAlertRule: Scalars['Boolean']['output'];
  /** Records one of the latency measurements; written to QuestDB in the next batch (every BATCH_INTERVAL_MS). */
  recordLatencyMetric: RecordResult;
  /** Records many latency measurements: all or, if any is invalid, none. */
  recordLatencyMetrics: RecordResult;
  /** Records one of the MEV results; written to QuestDB in the next batch (every BATCH_INTERVAL_MS). */
  recordMevMetric: RecordResult;
  /** Records many MEV results: all or, if any is invalid, none. */
  recordMevMetrics: RecordResult;
  /** Records one of the trades; written to QuestDB in the next batch (every BATCH_INTERVAL_MS). */
  recordTrade: RecordResult;
  /** Records many trades: all or, if any is invalid, none. */
  recordTrades: RecordResult;
  /** Admin: adds a rule, or replaces the rule with the same id (it starts again as not firing). Stored in alert_rules: every instance applies it within ALERT_SYNC_MS, and it outlives restarts. */
  upsertAlertRule: AlertRule;
};


export type MutationDeleteAlertRuleArgs = {
  id: Scalars['String']['input'];
};


export type MutationRecordLatencyMetricArgs = {
  durability?: Durability;
  input: LatencyMetricInput;
};


export type MutationRecordLatencyMetricsArgs = {
  durability?: Durability;
  inputs: Array<LatencyMetricInput>;
};


export type MutationRecordMevMetricArgs = {
  durability?: Durability;
  input: MevMetricInput;
};


export type MutationRecordMevMetricsArgs = {
  durability?: Durability;
  inputs: Array<MevMetricInput>;
};


export type MutationRecordTradeArgs = {
  durability?: Durability;
  input: TradeInput;
};


export type MutationRecordTradesArgs = {
  durability?: Durability;
  inputs: Array<TradeInput>;
};


export type MutationUpsertAlertRuleArgs = {
  input: AlertRuleInput;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

/** Both tokens, each 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit. */
export type PairInput = {
  baseToken: Scalars['String']['input'];
  quoteToken: Scalars['String']['input'];
};

/** What strategyPerformance groups by: STRATEGY, PAIR (base and quote token). */
export type PerformanceGroupKey =
  | 'PAIR'
  | 'STRATEGY';

/** Calendar periods in UTC: DAY from 00:00, WEEK from Monday 00:00, MONTH from the 1st 00:00. The first and last are clipped to the range. */
export type PeriodBucket =
  | 'DAY'
  | 'MONTH'
  | 'WEEK';

/** The trades of one calendar period within the range. A period without trades has zeros and null rates. Money in quote units, fees in lamports. */
export type PeriodPerformance = {
  __typename?: 'PeriodPerformance';
  baseVolume: Scalars['Float']['output'];
  /** The period's start (UTC), even when the range starts inside it. */
  bucket: Scalars['Timestamp']['output'];
  /** Trades with a realizedPnl. */
  closedTrades: Scalars['Int']['output'];
  /** Σ realizedPnl of this and every earlier period of the range. */
  cumulativePnl: Scalars['Float']['output'];
  /** Closed trades with PnL = 0. */
  draws: Scalars['Int']['output'];
  /** The next period's start (exclusive). */
  end: Scalars['Timestamp']['output'];
  /** Σ |PnL| of losses (positive). */
  grossLoss: Scalars['Float']['output'];
  /** Σ PnL of wins. */
  grossProfit: Scalars['Float']['output'];
  /** Closed trades with PnL < 0. */
  losses: Scalars['Int']['output'];
  priorityFees: Scalars['Long']['output'];
  /** grossProfit / grossLoss; null without losses. */
  profitFactor: Maybe<Scalars['Float']['output']>;
  quoteVolume: Scalars['Float']['output'];
  /** Σ realizedPnl. */
  realizedPnl: Scalars['Float']['output'];
  /** transactionFees + priorityFees. */
  totalFees: Scalars['Long']['output'];
  trades: Scalars['Int']['output'];
  transactionFees: Scalars['Long']['output'];
  /**
   * Σ transferFees in quote-token units, every quote token added together.
   * @deprecated Adds the transfer fees of different quote tokens; read tradeStats(bucket, groupBy: [PAIR]).transferFeesByCurrency.
   */
  transferFees: Scalars['Float']['output'];
  /** wins / closedTrades; null without closed trades. */
  winRate: Maybe<Scalars['Float']['output']>;
  /** Closed trades with PnL > 0. */
  wins: Scalars['Int']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** The alert events every instance stored (alert_events) in the range, newest first. A rule whose newest event is FIRING is firing. */
  alertEvents: Array<AlertEvent>;
  alertRules: Array<AlertRule>;
  /** Count, min, mean, p50, p90, p95, p99, p99.9 and max latency per stage, overall and per calendar bucket. */
  latencyStats: LatencyStats;
  /** Share protected, attacks and their parts, landing rates and slots to land, tips (per landed bundle, over the floor), priority fee per compute unit, mevStatus mismatches, money per currency and net benefit, per calendar bucket and per protection method, strategy and/or venue. */
  mevEffectiveness: MevEffectiveness;
  /** Trades, closed trades, realized PnL, wins and losses, win rate, volume and fees per calendar day, week or month (UTC), every period of the range included. */
  performanceByPeriod: Array<PeriodPerformance>;
  /** Per strategy (or pair, see groupBy): trades, volume, fees, realized PnL, win rate, profit factor, expectancy, max drawdown (absolute, relative, when) over the realized-PnL series, and the risk-adjusted figures over daily returns (Sharpe, Sortino, Calmar, SQN, CAGR, best and worst day, streaks). */
  strategyPerformance: Array<StrategyPerformance>;
  /** The API instances' health samples (system_metrics) per calendar bucket and instance, buckets without samples left out; in bucket then instance order. */
  systemMetrics: Array<SystemMetricsRow>;
  /** Trade count, volumes, VWAP, prices, fees and slippage per calendar bucket (UTC) and group. */
  tradeStats: TradeStats;
  /** Trade history, newest first by default; keyset cursors stay valid while rows arrive. first: 1 to MAX_PAGE_SIZE (default 1000). */
  trades: TradeConnection;
  /** The caller's key name and role. */
  viewer: Viewer;
};


export type QueryAlertEventsArgs = {
  first?: Scalars['Int']['input'];
  range: TimeRange;
};


export type QueryLatencyStatsArgs = {
  bucket?: InputMaybe<TimeBucket>;
  range: TimeRange;
  stage?: InputMaybe<Scalars['String']['input']>;
  strategy?: InputMaybe<Scalars['String']['input']>;
};


export type QueryMevEffectivenessArgs = {
  bucket?: InputMaybe<TimeBucket>;
  groupBy?: InputMaybe<Array<MevGroupKey>>;
  range: TimeRange;
};


export type QueryPerformanceByPeriodArgs = {
  bucket: PeriodBucket;
  range: TimeRange;
  strategy?: InputMaybe<Scalars['String']['input']>;
  writer?: InputMaybe<Scalars['String']['input']>;
};


export type QueryStrategyPerformanceArgs = {
  groupBy?: InputMaybe<Array<PerformanceGroupKey>>;
  range: TimeRange;
  startingBalance?: InputMaybe<Scalars['Float']['input']>;
  strategy?: InputMaybe<Scalars['String']['input']>;
  writer?: InputMaybe<Scalars['String']['input']>;
};


export type QuerySystemMetricsArgs = {
  bucket: TimeBucket;
  range: TimeRange;
};


export type QueryTradeStatsArgs = {
  bucket?: InputMaybe<TimeBucket>;
  groupBy?: InputMaybe<Array<TradeGroupKey>>;
  range: TimeRange;
};


export type QueryTradesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<TradeFilter>;
  first?: Scalars['Int']['input'];
  order?: SortOrder;
};

/** The answer of a record* mutation. */
export type RecordResult = {
  __typename?: 'RecordResult';
  /** Rows accepted (all of the request, or an error). */
  accepted: Scalars['Int']['output'];
  /** With COMMITTED: ms from acceptance to QuestDB's acknowledgement. */
  commitLatencyMs: Maybe<Scalars['Float']['output']>;
  durability: Durability;
  /** Each row's idempotency key, in request order; send the same key again (with the same API key) to retry safely. */
  ids: Array<Scalars['String']['output']>;
};

/** One bucket of the slots-to-land distribution of the landed transactions that recorded slotsToLand. */
export type SlotsToLandBucket = {
  __typename?: 'SlotsToLandBucket';
  count: Scalars['Int']['output'];
  /** count / the landed transactions that recorded slotsToLand; null when none did. */
  share: Maybe<Scalars['Float']['output']>;
  /** "0", "1", "2" or "3+". */
  slots: Scalars['String']['output'];
};

export type SortOrder =
  | 'ASC'
  | 'DESC';

export type StageLatency = {
  __typename?: 'StageLatency';
  count: Scalars['Int']['output'];
  /** Approximate (HdrHistogram, 3 significant digits), microseconds. */
  p50Us: Scalars['Float']['output'];
  /** Approximate (HdrHistogram, 3 significant digits), microseconds. */
  p99Us: Scalars['Float']['output'];
  stage: Scalars['String']['output'];
};

/** One group's results over the range (a strategy, a pair, both, or everything: see groupBy). PnL figures use the closed trades (those with a realizedPnl), in (timestamp, tradeId, writer) order; money in quote units, fees in lamports. Formulas and the differences from Freqtrade: docs/queries.md. */
export type StrategyPerformance = {
  __typename?: 'StrategyPerformance';
  /** Positive. */
  averageLoss: Maybe<Scalars['Float']['output']>;
  averageWin: Maybe<Scalars['Float']['output']>;
  /** The pair's base token; null when not grouped by PAIR. */
  baseToken: Maybe<Scalars['String']['output']>;
  baseVolume: Scalars['Float']['output'];
  /** The UTC day with the highest realized PnL (the earliest on ties); null without closed trades. */
  bestDay: Maybe<DayPnl>;
  /** (final balance / startingBalance)^(365 / days) − 1, final balance = startingBalance + realizedPnl, days = the UTC days the range touches. Null without a positive startingBalance, with a negative final balance, or when it overflows a double (a huge growth over a few days). */
  cagr: Maybe<Scalars['Float']['output']>;
  /** cagr / maxDrawdownRelative; null when either is null or there is no drawdown. */
  calmar: Maybe<Scalars['Float']['output']>;
  /** Trades with a realizedPnl. */
  closedTrades: Scalars['Int']['output'];
  /** UTC days with at least one closed trade whose realized PnL is = 0. */
  daysDrawn: Scalars['Int']['output'];
  /** UTC days with at least one closed trade whose realized PnL is < 0. */
  daysLost: Scalars['Int']['output'];
  /** UTC days with at least one closed trade whose realized PnL is > 0. */
  daysWon: Scalars['Int']['output'];
  /** Closed trades with PnL = 0. */
  draws: Scalars['Int']['output'];
  /** winRate × averageWin − lossRate × averageLoss (per closed trade); null without closed trades. */
  expectancy: Maybe<Scalars['Float']['output']>;
  /** (1 + averageWin / averageLoss) × winRate − 1; null without losses (Freqtrade reports 100). */
  expectancyRatio: Maybe<Scalars['Float']['output']>;
  /** Σ |PnL| of losses (positive). */
  grossLoss: Scalars['Float']['output'];
  /** Σ PnL of wins. */
  grossProfit: Scalars['Float']['output'];
  /** Most consecutive closed trades with PnL < 0, in (timestamp, tradeId, writer) order. */
  longestLosingStreak: Scalars['Int']['output'];
  /** Most consecutive closed trades with PnL > 0, in (timestamp, tradeId, writer) order; a draw ends a streak. */
  longestWinningStreak: Scalars['Int']['output'];
  /** Closed trades with PnL < 0. */
  losses: Scalars['Int']['output'];
  /** Largest fall of cumulative realized PnL below its running peak (peak floored at 0, as Freqtrade), positive. Combined from hourly summaries, only when asked for. */
  maxDrawdown: Scalars['Float']['output'];
  /** When the drawdown's peak was first reached: the first closed trade whose cumulative PnL equals it; null without drawdown or when the peak is the start (cumulative 0 before any trade: the range's from). */
  maxDrawdownPeakAt: Maybe<Scalars['Timestamp']['output']>;
  /** The first closed trade after the trough whose cumulative PnL is back at the peak or above; null without drawdown or when not recovered within the range. */
  maxDrawdownRecoveredAt: Maybe<Scalars['Timestamp']['output']>;
  /** maxDrawdown / (startingBalance + peak before it), Freqtrade's relative account drawdown; 0 without drawdown, null when startingBalance + peak is not positive. */
  maxDrawdownRelative: Maybe<Scalars['Float']['output']>;
  /** The closed trade at the bottom of the max drawdown (the first, on ties); null without drawdown. */
  maxDrawdownTroughAt: Maybe<Scalars['Timestamp']['output']>;
  priorityFees: Scalars['Long']['output'];
  /** grossProfit / grossLoss; null without losses (Freqtrade reports 0). */
  profitFactor: Maybe<Scalars['Float']['output']>;
  /** The pair's quote token; null when not grouped by PAIR. */
  quoteToken: Maybe<Scalars['String']['output']>;
  quoteVolume: Scalars['Float']['output'];
  /** Σ realizedPnl. */
  realizedPnl: Scalars['Float']['output'];
  /** mean(r) / sd(r) × √365 over the daily returns (sample sd, risk-free rate 0). Daily returns: every UTC day the range touches (days without closed trades return 0), r = day's realized PnL / balance at the day's start, the balance starting at startingBalance and compounding. Null without a positive startingBalance, with fewer than 2 days, a zero sd, or a balance at or below 0 before a day (Freqtrade reports −100 for a zero sd). */
  sharpe: Maybe<Scalars['Float']['output']>;
  /** mean(r) / √(Σ min(r, 0)² / days) × √365 over the daily returns (downside deviation, target 0). Null as sharpe, and without a losing day (Freqtrade reports −100). */
  sortino: Maybe<Scalars['Float']['output']>;
  /** System Quality Number (Van Tharp, as Freqtrade): √closedTrades × mean PnL / sd PnL per closed trade (sample sd). Null under 2 closed trades or with a zero sd (Freqtrade reports −100). */
  sqn: Maybe<Scalars['Float']['output']>;
  /** Null: not grouped by STRATEGY, or trades recorded without a strategy. */
  strategy: Maybe<Scalars['String']['output']>;
  totalFees: Scalars['Long']['output'];
  trades: Scalars['Int']['output'];
  transactionFees: Scalars['Long']['output'];
  /**
   * Σ transferFees in quote-token units: a single currency only when grouped by PAIR.
   * @deprecated Adds the transfer fees of different quote tokens unless grouped by PAIR; group by PAIR, or read tradeStats.transferFeesByCurrency.
   */
  transferFees: Scalars['Float']['output'];
  /** wins / closedTrades. */
  winRate: Maybe<Scalars['Float']['output']>;
  /** Closed trades with PnL > 0. */
  wins: Scalars['Int']['output'];
  /** The UTC day with the lowest realized PnL (the earliest on ties); null without closed trades. */
  worstDay: Maybe<DayPnl>;
};

export type Subscription = {
  __typename?: 'Subscription';
  /** Firing and resolved alert events of every instance, each once: those this instance raises as it raises them, the other instances' as they reach alert_events. Events from the subscription's start on. */
  alerts: AlertEvent;
  /** Rolling figures over a sliding window; sent when they change (at most about once a second). */
  liveMetrics: LiveMetrics;
  /** Each new trade matching the filter, in (timestamp, tradeId, writer) order, without gaps or duplicates across flushes. A client that falls more than LIVE_MAX_QUEUED trades behind is disconnected with close code 4429. */
  tradeRecorded: Trade;
};


export type SubscriptionLiveMetricsArgs = {
  strategy?: InputMaybe<Scalars['String']['input']>;
  windowSeconds?: Scalars['Int']['input'];
  writer?: InputMaybe<Scalars['String']['input']>;
};


export type SubscriptionTradeRecordedArgs = {
  filter?: InputMaybe<TradeFilter>;
};

/** The samples one API instance took of itself in one bucket (every SYSTEM_METRICS_INTERVAL_MS). Counters count since the instance started. */
export type SystemMetricsRow = {
  __typename?: 'SystemMetricsRow';
  /** Bucket start (UTC). */
  bucket: Scalars['Timestamp']['output'];
  /** INSTANCE_ID of the API instance. */
  instance: Maybe<Scalars['String']['output']>;
  maxEventLoopLagMs: Scalars['Float']['output'];
  /** Longest latest-flush duration sampled, ms. */
  maxFlushMs: Scalars['Float']['output'];
  /** Rows queued or in flight, at most. */
  maxQueueDepth: Scalars['Int']['output'];
  maxRssBytes: Scalars['Float']['output'];
  /** Mean of the sampled latest-flush durations, ms. */
  meanFlushMs: Scalars['Float']['output'];
  /** Rows dead-lettered (counter, highest value). */
  rejectedRows: Scalars['Float']['output'];
  /** ILP requests retried (counter, highest value). */
  retries: Scalars['Float']['output'];
  /** Rows QuestDB acknowledged (counter, highest value). */
  rowsWritten: Scalars['Float']['output'];
  samples: Scalars['Int']['output'];
};

/** Calendar buckets in UTC: MINUTE to DAY start at multiples of their length since midnight UTC, WEEK on Monday 00:00 UTC, MONTH on the first day of the month. The first and last buckets are clipped to the range. */
export type TimeBucket =
  | 'DAY'
  | 'FIFTEEN_MINUTES'
  | 'FIVE_MINUTES'
  | 'FOUR_HOURS'
  | 'HOUR'
  | 'MINUTE'
  | 'MONTH'
  | 'WEEK';

/** A UTC time range: from inclusive, to exclusive; from must be before to, and the range at most 3660 days long. */
export type TimeRange = {
  /** Inclusive. */
  from: Scalars['Timestamp']['input'];
  /** Exclusive. */
  to: Scalars['Timestamp']['input'];
};

/** The price of one unit of a token in a reference currency (the same for every item of a list). */
export type TokenPriceInput = {
  /** 0 to 1000000000000000. */
  price: Scalars['Float']['input'];
  /** A token name as recorded (quoteToken), a name. */
  token: Scalars['String']['input'];
};

/** One executed trade: the Enhanced Trade Model plus its idempotency key and context. */
export type Trade = {
  __typename?: 'Trade';
  action: TradeAction;
  /** Fraction; negative is price improvement. */
  actualSlippage: Scalars['Float']['output'];
  baseAmount: Scalars['Float']['output'];
  baseToken: Scalars['String']['output'];
  /** Quote units per base unit. */
  executedPrice: Scalars['Float']['output'];
  /** Fraction (0.01 = 1%). */
  expectedSlippage: Scalars['Float']['output'];
  /** The latency measurements recorded with this trade's tradeId by the same writer (API key), oldest first (those timestamped within 60 minutes of the trade). */
  latencyMetrics: Array<LatencyMetric>;
  /** The MEV record with this trade's tradeId by the same writer (API key), timestamped within 60 minutes of the trade; the latest if several. */
  mev: Maybe<MevMetric>;
  mevStatus: MevStatus;
  /** Lamports. */
  priorityFee: Scalars['Long']['output'];
  quoteAmount: Scalars['Float']['output'];
  quoteToken: Scalars['String']['output'];
  /** In quote units. */
  realizedPnl: Maybe<Scalars['Float']['output']>;
  signature: Maybe<Scalars['String']['output']>;
  slot: Maybe<Scalars['Long']['output']>;
  strategy: Maybe<Scalars['String']['output']>;
  timestamp: Scalars['Timestamp']['output'];
  /** Idempotency key (per writer): the client's id, the signature, or a UUID. */
  tradeId: Scalars['String']['output'];
  /** Lamports. */
  transactionFee: Scalars['Long']['output'];
  /** Token-2022 transfer fees, in units of the quote token. */
  transferFees: Scalars['Float']['output'];
  venue: Maybe<Scalars['String']['output']>;
  /** The name of the API key that recorded it ("anonymous" when the server runs without keys). With the timestamp and the idempotency key it is the row's identity: what another key sends with the same timestamp and key is a row of its own, never a replacement. Null for rows recorded before writers were stored. */
  writer: Maybe<Scalars['String']['output']>;
};

export type TradeAction =
  | 'BUY'
  | 'SELL';

export type TradeConnection = {
  __typename?: 'TradeConnection';
  edges: Array<TradeEdge>;
  nodes: Array<Trade>;
  pageInfo: PageInfo;
};

export type TradeEdge = {
  __typename?: 'TradeEdge';
  cursor: Scalars['String']['output'];
  node: Trade;
};

/** Every field is optional; all given are combined with AND. Names follow the ingest rule (1–64 characters: letters, digits and _ . : / -, starting with a letter or digit); a refused value names its field. */
export type TradeFilter = {
  action?: InputMaybe<TradeAction>;
  /** Fraction (0.01 = 1%). */
  actualSlippage?: InputMaybe<FloatRange>;
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  baseToken?: InputMaybe<Scalars['String']['input']>;
  /** Fraction (0.01 = 1%). */
  expectedSlippage?: InputMaybe<FloatRange>;
  /** Inclusive; before to, at most 3660 days from it. */
  from?: InputMaybe<Scalars['Timestamp']['input']>;
  /** Any of these (at most 100 items, duplicates ignored); [] matches nothing. */
  mevStatus?: InputMaybe<Array<MevStatus>>;
  /** Both tokens of a pair. */
  pair?: InputMaybe<PairInput>;
  /** Lamports. */
  priorityFee?: InputMaybe<LongRange>;
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  quoteToken?: InputMaybe<Scalars['String']['input']>;
  /** Base58, 64 to 88 characters. */
  signature?: InputMaybe<Scalars['String']['input']>;
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  strategy?: InputMaybe<Scalars['String']['input']>;
  /** Exclusive. */
  to?: InputMaybe<Scalars['Timestamp']['input']>;
  /** transactionFee + priorityFee, lamports. */
  totalFee?: InputMaybe<LongRange>;
  /** 1–128 printable ASCII, no spaces. */
  tradeId?: InputMaybe<Scalars['String']['input']>;
  /** Lamports. */
  transactionFee?: InputMaybe<LongRange>;
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  venue?: InputMaybe<Scalars['String']['input']>;
  /** The name of the API key that recorded the trade. 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  writer?: InputMaybe<Scalars['String']['input']>;
};

/** The group a row belongs to. Fields not grouped by are null; a grouped field is null for trades without a value. */
export type TradeGroup = {
  __typename?: 'TradeGroup';
  action: Maybe<Scalars['String']['output']>;
  baseToken: Maybe<Scalars['String']['output']>;
  mevStatus: Maybe<Scalars['String']['output']>;
  quoteToken: Maybe<Scalars['String']['output']>;
  strategy: Maybe<Scalars['String']['output']>;
  venue: Maybe<Scalars['String']['output']>;
};

/** What tradeStats groups by: PAIR (base and quote token), STRATEGY, ACTION, MEV_STATUS, VENUE. */
export type TradeGroupKey =
  | 'ACTION'
  | 'MEV_STATUS'
  | 'PAIR'
  | 'STRATEGY'
  | 'VENUE';

/** A trade as a bot reports it. Amounts, prices and transfer fees are finite, 0 to 1000000000000000; fees and slot 0 to 2^53-1; slippage fractions within ±1. */
export type TradeInput = {
  action: TradeAction;
  /** Fraction, -1 to 1; negative is price improvement. */
  actualSlippage: Scalars['Float']['input'];
  /** Token units, finite, 0 to 1000000000000000. */
  baseAmount: Scalars['Float']['input'];
  /** Mint address or symbol, 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit. */
  baseToken: Scalars['String']['input'];
  /** Quote units per base unit, finite, 0 to 1000000000000000. */
  executedPrice: Scalars['Float']['input'];
  /** Fraction, 0 to 1 (0.005 is 0.5 %, not 50 basis points). */
  expectedSlippage: Scalars['Float']['input'];
  mevStatus: MevStatus;
  /** Lamports, 0 to 2^53-1. */
  priorityFee: Scalars['Long']['input'];
  /** Token units, finite, 0 to 1000000000000000. */
  quoteAmount: Scalars['Float']['input'];
  /** Mint address or symbol, 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit. */
  quoteToken: Scalars['String']['input'];
  /** Realized profit or loss of the trade, in quote units, -1000000000000000 to 1000000000000000. */
  realizedPnl?: InputMaybe<Scalars['Float']['input']>;
  /** Base58 transaction signature, 64 to 88 characters. */
  signature?: InputMaybe<Scalars['String']['input']>;
  /** 0 to 2^53-1. */
  slot?: InputMaybe<Scalars['Long']['input']>;
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  strategy?: InputMaybe<Scalars['String']['input']>;
  /** Execution time. Required with tradeId or signature (the key and the timestamp identify the row, so a retry must send both); without a key it defaults to the time of acceptance. At most MAX_CLOCK_SKEW_MS in the future, not older than the retention. */
  timestamp?: InputMaybe<Scalars['Timestamp']['input']>;
  /** Idempotency key (1–128 printable ASCII, no spaces). Defaults to the signature, else a server-made UUID. */
  tradeId?: InputMaybe<Scalars['String']['input']>;
  /** Lamports, 0 to 2^53-1. */
  transactionFee: Scalars['Long']['input'];
  /** Token-2022 transfer fees, in units of the quote token (reported per quote token), finite, 0 to 1000000000000000. */
  transferFees: Scalars['Float']['input'];
  /** 1–64 characters: letters, digits and _ . : / -, starting with a letter or digit */
  venue?: InputMaybe<Scalars['String']['input']>;
};

/** Trade statistics over a range; each field runs its own (cached) query only when asked for. */
export type TradeStats = {
  __typename?: 'TradeStats';
  bucket: Maybe<TimeBucket>;
  /** One row per bucket and group with trades in the range, in bucket then group order; a group's buckets without trades are included with count 0. Empty when no bucket was given or the range has no trades. */
  buckets: Array<TradeStatsRow>;
  from: Scalars['Timestamp']['output'];
  groupBy: Array<TradeGroupKey>;
  to: Scalars['Timestamp']['output'];
  /** One row per group with trades in the range, in group order (one row when not grouped; none for an empty range, grouped or not). */
  totals: Array<TradeStatsRow>;
};

/** Figures of the trades in one bucket and group. Volumes in token units, prices in quote per base, fees in lamports (transfer fees in token units), slippage as a fraction. Figures that need a trade are null when count is 0. */
export type TradeStatsRow = {
  __typename?: 'TradeStatsRow';
  /** Σ baseAmount. */
  baseVolume: Scalars['Float']['output'];
  /** Bucket start (UTC); null in totals. */
  bucket: Maybe<Scalars['Timestamp']['output']>;
  /** Trades. */
  count: Scalars['Int']['output'];
  /** Price of the earliest trade. */
  firstPrice: Maybe<Scalars['Float']['output']>;
  group: TradeGroup;
  /** Price of the latest trade. */
  lastPrice: Maybe<Scalars['Float']['output']>;
  maxPrice: Maybe<Scalars['Float']['output']>;
  /** Mean actualSlippage. */
  meanSlippage: Maybe<Scalars['Float']['output']>;
  /** Mean of actualSlippage − expectedSlippage. */
  meanSlippageError: Maybe<Scalars['Float']['output']>;
  minPrice: Maybe<Scalars['Float']['output']>;
  /** Share (0..1) of trades whose actualSlippage is greater than their expectedSlippage. */
  overExpectedSlippageShare: Maybe<Scalars['Float']['output']>;
  /** 95th percentile (nearest rank) of actualSlippage, from 1-basis-point bins: within 0.00005 of the exact value. Computed by a second query, only when asked for. */
  p95Slippage: Maybe<Scalars['Float']['output']>;
  priorityFees: Scalars['Long']['output'];
  /** Σ quoteAmount. */
  quoteVolume: Scalars['Float']['output'];
  /** transactionFees + priorityFees. */
  totalFees: Scalars['Long']['output'];
  transactionFees: Scalars['Long']['output'];
  /**
   * Σ transferFees, in quote-token units of every quote token in the row added together.
   * @deprecated Adds the transfer fees of different quote tokens unless grouped by PAIR; read transferFeesByCurrency.
   */
  transferFees: Scalars['Float']['output'];
  /** Σ transferFees per quote token (transfer fees are in the quote token's units), tokens in name order: never added across currencies. A statement of its own, only when asked for. */
  transferFeesByCurrency: Array<CurrencyAmount>;
  /** Σ(executedPrice × baseAmount) / Σ baseAmount; null when Σ baseAmount is 0. */
  vwap: Maybe<Scalars['Float']['output']>;
};

/** The API key a request was made with: its name and role (never the key). */
export type Viewer = {
  __typename?: 'Viewer';
  /** "anonymous" when the server runs without keys. */
  name: Scalars['String']['output'];
  /** reader, writer or admin (admin when the server runs without keys). */
  role: Scalars['String']['output'];
};

export type BotRecordTradesMutationVariables = Exact<{
  inputs: Array<TradeInput> | TradeInput;
}>;


export type BotRecordTradesMutation = { __typename?: 'Mutation', recordTrades: { __typename?: 'RecordResult', accepted: number, ids: Array<string> } };

export type BotRecordLatencyMutationVariables = Exact<{
  inputs: Array<LatencyMetricInput> | LatencyMetricInput;
}>;


export type BotRecordLatencyMutation = { __typename?: 'Mutation', recordLatencyMetrics: { __typename?: 'RecordResult', accepted: number } };

export type BotRecordMevMutationVariables = Exact<{
  inputs: Array<MevMetricInput> | MevMetricInput;
}>;


export type BotRecordMevMutation = { __typename?: 'Mutation', recordMevMetrics: { __typename?: 'RecordResult', accepted: number } };

export type MonitorLiveMetricsSubscriptionVariables = Exact<{
  windowSeconds?: Scalars['Int']['input'];
  strategy?: InputMaybe<Scalars['String']['input']>;
}>;


export type MonitorLiveMetricsSubscription = { __typename?: 'Subscription', liveMetrics: { __typename?: 'LiveMetrics', at: string, trades: number, tradesPerSecond: number, volume: number, mevProtectedRate: number, mevAttackedRate: number, ingestQueueDepth: number, latency: Array<{ __typename?: 'StageLatency', stage: string, count: number, p50Us: number, p99Us: number }> } };

export type MonitorAlertsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type MonitorAlertsSubscription = { __typename?: 'Subscription', alerts: { __typename?: 'AlertEvent', ruleId: string, kind: AlertKind, state: AlertState, value: number, threshold: number, at: string, message: string } };


export const BotRecordTradesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"BotRecordTrades"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"TradeInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recordTrades"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"inputs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}}},{"kind":"Argument","name":{"kind":"Name","value":"durability"},"value":{"kind":"EnumValue","value":"COMMITTED"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}},{"kind":"Field","name":{"kind":"Name","value":"ids"}}]}}]}}]} as unknown as DocumentNode<BotRecordTradesMutation, BotRecordTradesMutationVariables>;
export const BotRecordLatencyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"BotRecordLatency"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"LatencyMetricInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recordLatencyMetrics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"inputs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}}},{"kind":"Argument","name":{"kind":"Name","value":"durability"},"value":{"kind":"EnumValue","value":"COMMITTED"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}}]}}]}}]} as unknown as DocumentNode<BotRecordLatencyMutation, BotRecordLatencyMutationVariables>;
export const BotRecordMevDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"BotRecordMev"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"MevMetricInput"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"recordMevMetrics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"inputs"},"value":{"kind":"Variable","name":{"kind":"Name","value":"inputs"}}},{"kind":"Argument","name":{"kind":"Name","value":"durability"},"value":{"kind":"EnumValue","value":"COMMITTED"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"accepted"}}]}}]}}]} as unknown as DocumentNode<BotRecordMevMutation, BotRecordMevMutationVariables>;
export const MonitorLiveMetricsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"MonitorLiveMetrics"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"windowSeconds"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},"defaultValue":{"kind":"IntValue","value":"60"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"strategy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"liveMetrics"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"windowSeconds"},"value":{"kind":"Variable","name":{"kind":"Name","value":"windowSeconds"}}},{"kind":"Argument","name":{"kind":"Name","value":"strategy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"strategy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"trades"}},{"kind":"Field","name":{"kind":"Name","value":"tradesPerSecond"}},{"kind":"Field","name":{"kind":"Name","value":"volume"}},{"kind":"Field","name":{"kind":"Name","value":"mevProtectedRate"}},{"kind":"Field","name":{"kind":"Name","value":"mevAttackedRate"}},{"kind":"Field","name":{"kind":"Name","value":"ingestQueueDepth"}},{"kind":"Field","name":{"kind":"Name","value":"latency"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stage"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"p50Us"}},{"kind":"Field","name":{"kind":"Name","value":"p99Us"}}]}}]}}]}}]} as unknown as DocumentNode<MonitorLiveMetricsSubscription, MonitorLiveMetricsSubscriptionVariables>;
export const MonitorAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"MonitorAlerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ruleId"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<MonitorAlertsSubscription, MonitorAlertsSubscriptionVariables>;