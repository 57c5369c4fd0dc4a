// Realistic demo data for `npm run seed` (issue 14, point 2): what a few Solana trading bots would
// record. Deterministic for a given seed. Each trade comes with its latency measurements (quote,
// build, sign, submit, confirm and e2e; log-normal bodies with Pareto tails) and its MEV result
// (protection method chosen per strategy; outcomes by protection: public transactions get
// sandwiched, Jito bundles sometimes fail to land). Prices follow a random walk per pair; SELLs
// carry a realized PnL, with a win rate per strategy and occasional losing streaks.

/** The JSON the record* mutations take (TradeInput, LatencyMetricInput, MevMetricInput). */
export interface SeedTrade {
  tradeId: string;
  timestamp: string;
  action: "BUY" | "SELL";
  baseToken: string;
  quoteToken: string;
  baseAmount: number;
  quoteAmount: number;
  executedPrice: number;
  transactionFee: number;
  priorityFee: number;
  expectedSlippage: number;
  actualSlippage: number;
  mevStatus: "PROTECTED" | "UNPROTECTED" | "SANDWICHED" | "FRONT_RUN" | "BACK_RUN" | "UNKNOWN";
  transferFees: number;
  strategy: string;
  venue: string;
  slot: number;
  realizedPnl?: number;
}

export interface SeedLatency {
  tradeId: string;
  timestamp: string;
  stage: string;
  latencyUs: number;
  success: boolean;
  strategy: string;
}

export interface SeedMev {
  tradeId: string;
  timestamp: string;
  protection: "JITO_BUNDLE" | "PRIVATE_RPC" | "NONE" | "OTHER";
  outcome: "LANDED" | "FAILED" | "DROPPED" | "SANDWICHED" | "FRONT_RUN" | "BACK_RUN";
  tipLamports: number;
  attackDetected: boolean;
  slotsToLand?: number;
  lossAvoided?: number;
  expectedProfit?: number;
  realizedProfit?: number;
  strategy: string;
  venue: string;
  baseToken: string;
  quoteToken: string;
  tipFloorLamports?: number;
  computeUnits: number;
}

export interface SeedEvent {
  trade: SeedTrade;
  latency: SeedLatency[];
  mev: SeedMev;
}

/** The median of the seeded Jito tips, 10,000 × e lamports, recorded as the floor the bot saw. */
const TIP_FLOOR_LAMPORTS = Math.round(10_000 * Math.E);

export const ALL_STRATEGIES = ["momentum_v2", "mean_revert", "arb_triangular", "sniper", "grid_maker", "twap_exec"];
/** Pairs and their starting prices (quote per base). */
export const ALL_PAIRS: readonly [string, string, number][] = [
  ["SOL", "USDC", 180],
  ["JUP", "USDC", 0.92],
  ["WIF", "USDC", 2.1],
  ["BONK", "SOL", 0.00000012],
  ["JTO", "USDC", 3.2],
  ["RAY", "SOL", 0.021],
];

export interface SeedOptions {
  /** Days of history, ending at `end`. */
  days: number;
  tradesPerDay: number;
  /** How many of ALL_STRATEGIES. */
  strategies: number;
  /** How many of ALL_PAIRS. */
  pairs: number;
  /** End of the history, ms since the epoch. */
  end: number;
  /** PRNG seed. */
  seed?: number;
  /** Prefix of every tradeId (distinct runs do not replace each other's rows). */
  idPrefix?: string;
}

/** mulberry32: a small, fast, seedable PRNG (fractions in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STAGES: readonly [string, number, number][] = [
  // stage, median µs, log-normal sigma
  ["quote", 18_000, 0.45],
  ["build", 1_800, 0.35],
  ["sign", 450, 0.25],
  ["submit", 35_000, 0.6],
  ["confirm", 420_000, 0.5],
];

/** Per-strategy character: protection preference, win rate, venue, size and latency scale. */
function profile(index: number) {
  const protections: SeedMev["protection"][][] = [
    ["JITO_BUNDLE", "JITO_BUNDLE", "JITO_BUNDLE", "PRIVATE_RPC", "NONE"],
    ["PRIVATE_RPC", "PRIVATE_RPC", "JITO_BUNDLE", "NONE", "NONE"],
    ["JITO_BUNDLE", "JITO_BUNDLE", "JITO_BUNDLE", "JITO_BUNDLE", "OTHER"],
    ["NONE", "NONE", "JITO_BUNDLE", "PRIVATE_RPC", "NONE"],
    ["PRIVATE_RPC", "JITO_BUNDLE", "NONE", "PRIVATE_RPC", "OTHER"],
    ["JITO_BUNDLE", "PRIVATE_RPC", "PRIVATE_RPC", "NONE", "JITO_BUNDLE"],
  ];
  return {
    protections: protections[index % protections.length] as SeedMev["protection"][],
    winRate: [0.58, 0.54, 0.66, 0.47, 0.6, 0.52][index % 6] as number,
    venue: ["raydium", "orca", "jupiter", "meteora", "phoenix", "jupiter"][index % 6] as string,
    size: [1, 0.6, 2.5, 0.3, 0.8, 4][index % 6] as number,
    latencyScale: [1, 1.3, 0.7, 0.8, 1.1, 1.6][index % 6] as number,
  };
}

const OUTCOMES: Record<SeedMev["protection"], [SeedMev["outcome"], number][]> = {
  NONE: [
    ["LANDED", 0.8],
    ["SANDWICHED", 0.08],
    ["FRONT_RUN", 0.03],
    ["BACK_RUN", 0.02],
    ["FAILED", 0.04],
    ["DROPPED", 0.03],
  ],
  JITO_BUNDLE: [
    ["LANDED", 0.885],
    ["DROPPED", 0.09],
    ["FAILED", 0.02],
    ["SANDWICHED", 0.005],
  ],
  PRIVATE_RPC: [
    ["LANDED", 0.925],
    ["SANDWICHED", 0.012],
    ["FRONT_RUN", 0.003],
    ["FAILED", 0.03],
    ["DROPPED", 0.03],
  ],
  OTHER: [
    ["LANDED", 0.9],
    ["SANDWICHED", 0.03],
    ["FAILED", 0.04],
    ["DROPPED", 0.03],
  ],
};

/** ISO-8601 with microseconds, from ms since the epoch (fractional ms kept to the µs). */
export function isoMicros(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.floor((ms - whole) * 1000);
  return new Date(whole).toISOString().replace("Z", `${String(micros).padStart(3, "0")}Z`);
}

/**
 * The events of the whole history, oldest first, produced lazily one day at a time (a month of
 * 100,000 trades a day never sits in memory at once).
 */
export function* seedEvents(options: SeedOptions): Generator<SeedEvent> {
  const random = prng(options.seed ?? 42);
  const strategies = ALL_STRATEGIES.slice(0, Math.max(1, Math.min(options.strategies, ALL_STRATEGIES.length)));
  const pairs = ALL_PAIRS.slice(0, Math.max(1, Math.min(options.pairs, ALL_PAIRS.length)));
  const prices = pairs.map(([, , price]) => price);
  const normal = () => {
    // Box-Muller
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const weighted = <T>(items: readonly [T, number][]): T => {
    let r = random();
    for (const [item, weight] of items) {
      r -= weight;
      if (r <= 0) return item;
    }
    return (items[0] as [T, number])[0];
  };
  /** Log-normal body with a Pareto tail (2 % of samples, α = 1.5, at most 50×): latency's heavy tail. */
  const latency = (median: number, sigma: number) => {
    const body = median * Math.exp(sigma * normal());
    return random() < 0.02 ? body * Math.min(50, (1 / (1 - random())) ** (1 / 1.5)) : body;
  };
  const streaks = strategies.map(() => 0);
  const prefix = options.idPrefix ?? "seed";
  const start = options.end - options.days * 86_400_000;
  let slot = 290_000_000 + Math.floor(random() * 1_000_000);
  let n = 0;
  for (let day = 0; day < options.days; day++) {
    const dayStart = start + day * 86_400_000;
    // Busier during European and American hours: a daily cycle of the trade rate.
    const times: number[] = [];
    while (times.length < options.tradesPerDay) {
      const t = random() * 86_400_000;
      const hour = new Date(dayStart + t).getUTCHours();
      if (random() < 0.55 + 0.45 * Math.sin(((hour - 8) / 24) * 2 * Math.PI)) times.push(dayStart + t);
    }
    times.sort((a, b) => a - b);
    for (const at of times) {
      if (at >= options.end) break;
      const s = Math.floor(random() * strategies.length);
      const strategy = strategies[s] as string;
      const p = profile(s);
      const pairIndex = Math.floor(random() * pairs.length);
      const [baseToken, quoteToken] = pairs[pairIndex] as [string, string, number];
      const price = (prices[pairIndex] as number) * Math.exp(0.002 * normal());
      prices[pairIndex] = price;
      const action = random() < 0.5 ? "BUY" : "SELL";
      const protection = pick(p.protections);
      const outcome = weighted(OUTCOMES[protection]);
      const attacked = outcome === "SANDWICHED" || outcome === "FRONT_RUN" || outcome === "BACK_RUN";
      const landed = outcome !== "FAILED" && outcome !== "DROPPED";
      const quoteValue = p.size * 180 * Math.exp(0.8 * normal()); // in USDC-ish terms
      const quoteAmount = quoteToken === "SOL" ? quoteValue / 180 : quoteValue;
      const baseAmount = quoteAmount / price;
      const expectedSlippage = 0.003 + random() * 0.007;
      const actualSlippage = attacked
        ? expectedSlippage * (0.8 + random())
        : expectedSlippage * 0.3 * Math.abs(normal());
      const mevStatus: SeedTrade["mevStatus"] = attacked
        ? (outcome as "SANDWICHED" | "FRONT_RUN" | "BACK_RUN")
        : !landed
          ? "UNKNOWN"
          : protection === "NONE"
            ? "UNPROTECTED"
            : "PROTECTED";
      let realizedPnl: number | undefined;
      if (action === "SELL") {
        // A losing streak now and then: 5 to 15 losses in a row.
        if (streaks[s] === 0 && random() < 0.01) streaks[s] = 5 + Math.floor(random() * 11);
        const losing = (streaks[s] as number) > 0;
        if (losing) streaks[s] = (streaks[s] as number) - 1;
        const win = !losing && random() < p.winRate;
        const magnitude = quoteAmount * (0.004 + 0.02 * Math.abs(normal()));
        realizedPnl = Number((win ? magnitude : -magnitude * (attacked ? 2.5 : 1.1)).toFixed(6));
      }
      slot += 1 + Math.floor(random() * 3);
      const tradeId = `${prefix}:${strategy}:${n++}`;
      const timestamp = isoMicros(at);
      const tip = protection === "JITO_BUNDLE" ? Math.round(10_000 * Math.exp(1.2 * normal() + 1)) : 0;
      const trade: SeedTrade = {
        tradeId,
        timestamp,
        action,
        baseToken,
        quoteToken,
        baseAmount: Number(baseAmount.toPrecision(9)),
        quoteAmount: Number(quoteAmount.toFixed(6)),
        executedPrice: Number(price.toPrecision(9)),
        transactionFee: 5000,
        priorityFee: Math.round(20_000 * Math.exp(1.1 * normal())),
        expectedSlippage: Number(expectedSlippage.toFixed(6)),
        actualSlippage: Number(actualSlippage.toFixed(6)),
        mevStatus,
        transferFees: 0,
        strategy,
        venue: p.venue,
        slot,
        ...(realizedPnl === undefined ? {} : { realizedPnl }),
      };
      const stages = STAGES.map(([stage, median, sigma]) => ({
        stage,
        us: Math.max(1, Math.round(latency(median * p.latencyScale, sigma))),
      }));
      const e2e = stages.reduce((sum, stage) => sum + stage.us, 0);
      const latencyRows: SeedLatency[] = [...stages, { stage: "e2e", us: e2e }].map(({ stage, us }) => ({
        tradeId,
        // Measurements end at the trade's time (the confirm stage ends it).
        timestamp,
        stage,
        latencyUs: us,
        success: stage !== "confirm" || landed,
        strategy,
      }));
      const opportunity = strategy.startsWith("arb") || strategy === "sniper";
      const expectedProfit = opportunity ? Number((quoteAmount * 0.01 * (0.5 + random())).toFixed(6)) : undefined;
      const mev: SeedMev = {
        tradeId,
        timestamp,
        protection,
        outcome,
        tipLamports: tip,
        attackDetected: attacked && random() < 0.7,
        ...(landed ? { slotsToLand: 1 + Math.floor(Math.abs(normal()) * 2) } : {}),
        ...(protection !== "NONE" && landed
          ? { lossAvoided: Number((quoteAmount * expectedSlippage * 0.3).toFixed(6)) }
          : {}),
        ...(expectedProfit === undefined
          ? {}
          : {
              expectedProfit,
              realizedProfit: Number((landed && !attacked ? expectedProfit * (0.6 + 0.4 * random()) : 0).toFixed(6)),
            }),
        strategy,
        // Issue 16: recorded on the MEV row (its currency is the quote token). No new random
        // draws, so the rest of the demo data stays what it was: the floor is the tips' median
        // (a bot would read it from Jito's tip-floor API), the compute units Solana's default limit.
        venue: p.venue,
        baseToken,
        quoteToken,
        ...(protection === "JITO_BUNDLE" ? { tipFloorLamports: TIP_FLOOR_LAMPORTS } : {}),
        computeUnits: 200_000,
      };
      yield { trade, latency: latencyRows, mev };
    }
  }
}
