// The vocabulary of the deterministic rows the benchmarks load: the same data on every run.

/** A 32-bit hash of i (deterministic, well mixed). */
export function hash(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
/** A deterministic fraction in [0, 1) for row i. */
export const unit = (i: number, salt: number) => hash(i, salt) / 4294967296;

export const PAIRS = [
  ["SOL", "USDC", 180],
  ["JUP", "USDC", 0.9],
  ["BONK", "SOL", 0.00000012],
  ["WIF", "USDC", 2.4],
  ["RAY", "SOL", 0.012],
  ["SOL", "USDT", 180],
] as const;
export const STRATEGIES = ["momentum", "arbitrage", "market_making", "sniper"];
export const VENUES = ["raydium", "orca", "meteora"];
export const STAGES = ["quote", "build", "sign", "submit", "confirm", "e2e"];

/** A trade input as the loader sends it; `extra` sets the fields a scenario filters on. */
export function benchTrade(
  tradeId: string,
  timestamp: string,
  extra: { venue: string; strategy?: string; baseToken?: string },
) {
  return {
    tradeId,
    timestamp,
    action: "BUY",
    baseToken: "SOL",
    quoteToken: "USDC",
    baseAmount: 1,
    quoteAmount: 200,
    executedPrice: 200,
    transactionFee: 5000,
    priorityFee: 0,
    expectedSlippage: 0.01,
    actualSlippage: 0.001,
    mevStatus: "PROTECTED",
    transferFees: 0,
    ...extra,
  };
}
