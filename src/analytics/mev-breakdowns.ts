// The parts of mevEffectiveness that need a statement of their own, each run only when a client
// selects it (once per request for all rows): the tip percentiles of the landed bundles, and the
// money per currency (issue 16, points 2 and 4) with the net benefit converted by token prices.
import { limited, unlessOver } from "./bounds.ts";
import type { QueryReader } from "./cache.ts";
import { type MevEffectivenessArgs, mevKeyOf, mevKeys } from "./mev-effectiveness.ts";
import { landedSql } from "./mev-vocabulary.ts";
import { rangeParams } from "./range.ts";
import { piecesFor, readInPieces } from "./rollup.ts";
import { compareGroups } from "./series.ts";

/**
 * HdrHistogram precision (significant decimal digits) of the tip percentiles. QuestDB 9.3.4 has
 * no exact percentile (no percentile_disc / percentile_cont), only approx_percentile; with 3
 * digits a LONG histogram reports the highest value equivalent to the nearest-rank percentile:
 * exact below 2048 lamports, above that at most 1/1024 (0.098 %) over the exact value.
 */
export const TIP_PERCENTILE_PRECISION = 3;

export interface TipPercentiles {
  p50: number | null;
  p90: number | null;
}

interface TipRow {
  timestamp?: bigint;
  p50: number | null;
  p90: number | null;
}

/**
 * p50 and p90 of the tips of the landed bundles, per (bucket, group) key. approx_percentile
 * makes QuestDB's GROUP BY single-threaded (docs/queries.md, Percentiles), which is why it is
 * not part of the main aggregate statement; the filter keeps it to the landed bundles.
 */
export async function mevTipPercentiles(
  cache: QueryReader,
  table: string,
  args: MevEffectivenessArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, TipPercentiles>> {
  const p = TIP_PERCENTILE_PRECISION;
  const sql =
    `SELECT ${[
      ...mevKeys(args, bucketed),
      `approx_percentile(tip_lamports, 0.5, ${p}) p50`,
      `approx_percentile(tip_lamports, 0.9, ${p}) p90`,
    ].join(", ")} ` +
    `FROM ${table} WHERE timestamp >= $1 AND timestamp < $2 AND protection = 'JITO_BUNDLE' AND ${landedSql()}`;
  return readInPieces(piecesFor(args.range, bucketed ? args.bucket : null), max, (range) =>
    cache.read<TipRow, Map<string, TipPercentiles> | null>({
      statement: limited(
        { name: bucketed ? "mevEffectiveness.tips.buckets" : "mevEffectiveness.tips", sql, params: rangeParams(range) },
        max + 1,
      ),
      tables: [table],
      range,
      map: unlessOver(
        max,
        (rows) => new Map(rows.map((row) => [mevKeyOf(args, bucketed, row), { p50: row.p50, p90: row.p90 }])),
      ),
    }),
  );
}

/** MEV money in one currency: the quote token recorded on the MEV rows (null: none recorded). */
export interface MevCurrencyRow {
  token: string | null;
  transactions: number;
  lossAvoided: number;
  opportunities: number;
  expectedProfit: number;
  realizedProfit: number;
}

interface CurrencyRow {
  timestamp?: bigint;
  quote_token: string | null;
  n: bigint;
  loss_avoided: number | null;
  opportunities: bigint | null;
  expected_profit: number | null;
  realized_profit: number | null;
}

/**
 * The money figures per (bucket, group) key and quote token, tokens in name order (null
 * first). Amounts of different currencies are never added together.
 */
export async function mevCurrencies(
  cache: QueryReader,
  table: string,
  args: MevEffectivenessArgs,
  bucketed: boolean,
  max: number,
): Promise<Map<string, MevCurrencyRow[]>> {
  const sql =
    `SELECT ${[
      ...mevKeys(args, bucketed),
      "quote_token",
      "count() n",
      "sum(loss_avoided) loss_avoided",
      // The bot's own opportunities, as in the main statement (mev-effectiveness.ts).
      "count(expected_profit) opportunities",
      "sum(expected_profit) expected_profit",
      "sum(CASE WHEN expected_profit IS NOT NULL THEN coalesce(realized_profit, 0.0) ELSE 0.0 END) realized_profit",
    ].join(", ")} ` + `FROM ${table} WHERE timestamp >= $1 AND timestamp < $2`;
  // At most (answer rows) × currencies rows; refused past MAX_RESULT_ROWS like the answer.
  return readInPieces(
    piecesFor(args.range, bucketed ? args.bucket : null),
    max,
    (range) =>
      cache.read<CurrencyRow, Map<string, MevCurrencyRow[]> | null>({
        statement: limited(
          {
            name: bucketed ? "mevEffectiveness.currencies.buckets" : "mevEffectiveness.currencies",
            sql,
            params: rangeParams(range),
          },
          max + 1,
        ),
        tables: [table],
        range,
        map: unlessOver(max, (rows) => {
          const byKey = new Map<string, MevCurrencyRow[]>();
          for (const row of rows) {
            const key = mevKeyOf(args, bucketed, row);
            const list = byKey.get(key) ?? [];
            list.push({
              token: row.quote_token,
              transactions: Number(row.n),
              lossAvoided: row.loss_avoided ?? 0,
              opportunities: Number(row.opportunities ?? 0n),
              expectedProfit: row.expected_profit ?? 0,
              realizedProfit: row.realized_profit ?? 0,
            });
            byKey.set(key, list);
          }
          for (const list of byKey.values()) list.sort((a, b) => compareGroups([a.token], [b.token]));
          return byKey;
        }),
      }),
    { rows: (list) => list.length },
  );
}

/**
 * The token whose price converts lamport costs (tips, priority fees): native SOL. A price for
 * it converts both SOL-quoted amounts and lamports (÷ 10⁹).
 */
export const LAMPORTS_TOKEN = "SOL";

export interface NetBenefit {
  value: number;
  /** Tokens with an amount in the figure but no price (null: rows without a quote token). */
  unconvertedTokens: (string | null)[];
}

/**
 * Σ lossAvoided × price of its token − (tips + priority fees) / 10⁹ × price of SOL. Only the
 * converted parts are in `value`; a part whose token has no price (or no token) is left out and
 * its token listed, so a partial figure is never mistaken for a whole one.
 */
export function netBenefitAt(
  currencies: readonly MevCurrencyRow[],
  costsLamports: bigint,
  prices: ReadonlyMap<string, number>,
): NetBenefit {
  let value = 0;
  const unconverted: (string | null)[] = [];
  for (const currency of currencies) {
    if (currency.lossAvoided === 0) continue;
    const price = currency.token === null ? undefined : prices.get(currency.token);
    if (price === undefined) unconverted.push(currency.token);
    else value += currency.lossAvoided * price;
  }
  if (costsLamports !== 0n) {
    const solPrice = prices.get(LAMPORTS_TOKEN);
    if (solPrice === undefined) {
      if (!unconverted.includes(LAMPORTS_TOKEN)) unconverted.push(LAMPORTS_TOKEN);
    } else value -= (Number(costsLamports) / 1e9) * solPrice;
  }
  return { value, unconvertedTokens: unconverted };
}
