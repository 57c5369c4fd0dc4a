// The month of history `npm run bench:overload` queries: trades and latency rows spread evenly
// over the last BENCH_DAYS days, written straight to QuestDB in big batches of ILP text over HTTP
// (no API in the way), into the tables the API owns (created by ensureTables, so the writer
// column and the DEDUP keys are the API's).
import { loadInBatches } from "./docs.ts";
import { PAIRS, STAGES, STRATEGIES, unit, VENUES } from "./rows.ts";

export interface HistoryOptions {
  httpPort: number;
  days: number;
  tradesPerDay: number;
  latencyPerDay: number;
  /** Physical table names (the API's, prefix included). */
  tables: { trades: string; latency: string };
  /** The writer symbol of every loaded row, as if one API key had sent them. */
  writer: string;
}

const DAY_US = 86_400_000_000;
/** Rows per ILP request: big, so QuestDB commits few WAL transactions. */
const BATCH_ROWS = 50_000;

const MEV = ["PROTECTED", "UNPROTECTED", "SANDWICHED", "FRONT_RUN"];

/** Loads both tables; returns the seconds it took (rows are committed, not yet applied). */
export async function loadHistory(options: HistoryOptions): Promise<number> {
  const { days, tradesPerDay, latencyPerDay, tables, writer } = options;
  const end = (Date.now() - 60_000) * 1000;
  const start = end - days * DAY_US;
  const trades = days * tradesPerDay;
  const latency = days * latencyPerDay;
  const started = performance.now();
  await load(options.httpPort, "trades", trades, (i) => {
    const [base, quote, price] = PAIRS[i % PAIRS.length] as (typeof PAIRS)[number];
    const amount = 0.1 + unit(i, 1) * 100;
    const executed = price * (0.99 + unit(i, 2) * 0.02);
    const ts = start + Math.floor((i * days * DAY_US) / trades);
    return (
      `${tables.trades},action=${i & 1 ? "BUY" : "SELL"},base_token=${base},quote_token=${quote},mev_status=${MEV[i % MEV.length]},` +
      `strategy=${STRATEGIES[(i >> 3) % STRATEGIES.length]},venue=${VENUES[(i >> 5) % VENUES.length]},writer=${writer} ` +
      `trade_id="h${i}",base_amount=${amount},quote_amount=${amount * executed},executed_price=${executed},` +
      `transaction_fee=${5000 + (i % 5000)}i,priority_fee=${(i * 7919) % 1_000_000}i,expected_slippage=0.01,` +
      `actual_slippage=${unit(i, 3) * 0.03 - 0.005},transfer_fees=0.0,slot=${300_000_000 + i}i,realized_pnl=${(unit(i, 4) - 0.45) * 20} ${ts}\n`
    );
  });
  await load(options.httpPort, "latency_metrics", latency, (j) => {
    const stage = j % STAGES.length;
    // Log-normal-ish: mostly 1–100 ms, a tail to seconds.
    const us = Math.round(Math.exp(6 + stage * 0.4 + unit(j, 5) * 3 + unit(j, 6) * unit(j, 7) * 4));
    const ts = start + Math.floor((j * days * DAY_US) / latency);
    return (
      `${tables.latency},stage=${STAGES[stage]},strategy=${STRATEGIES[(j >> 3) % STRATEGIES.length]},writer=${writer} ` +
      `metric_id="l${j}",trade_id="h${Math.floor((j * trades) / latency)}",latency_us=${us}i,success=${j % 50 !== 0 ? "t" : "f"} ${ts}\n`
    );
  });
  return (performance.now() - started) / 1000;
}

/**
 * The rows are ILP text built here (as /write?precision=u takes it): @questdb/nodejs-client's Sender encodes ~20,000
 * trades a second on these cores (a call per column), which would make loading the whole run.
 */
async function load(httpPort: number, label: string, total: number, row: (i: number) => string): Promise<void> {
  await loadInBatches("overload", label, total, BATCH_ROWS, async (from, to) => {
    const lines: string[] = [];
    for (let i = from; i < to; i++) lines.push(row(i));
    const response = await fetch(`http://127.0.0.1:${httpPort}/write?precision=u`, {
      method: "POST",
      body: lines.join(""),
    });
    if (response.status !== 204) throw new Error(`ILP write: HTTP ${response.status} ${await response.text()}`);
  });
}
