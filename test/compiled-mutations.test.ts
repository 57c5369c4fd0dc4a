// Record mutations run compiled (graphql-jit, src/http/compiled-statistics.ts) once their document
// repeats, their variables parsed by the compiled operation alone; when it refuses them, graphql-js
// answers. The property that makes this safe: whatever the compiled parser accepts, graphql-js
// accepts with the same values. Checked here on the app's schema and pipeline, with the rows
// captured where the batch writer would queue them: random variables, valid and broken in every
// way a caller can break them, give the same answer (byte for byte) and the same ILP bytes as
// graphql-js. Against the real server and QuestDB: a repeated recordTrades is compiled, its rows
// are stored as sent, and errors (variables and rows) read the same before and after.
import { createYoga } from "graphql-yoga";
import pino from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import type { Context, Services } from "../src/context.ts";
import { COMPILE_AFTER, compiledOperations } from "../src/http/compiled-statistics.ts";
import { createOperationLog } from "../src/http/operation-log.ts";
import { pipelineYogaOptions } from "../src/http/pipeline.ts";
import type { EncodedRows } from "../src/ingest/encoded-rows.ts";
import { newIlpBuffer } from "../src/questdb/ilp-http.ts";
import { tableNames } from "../src/questdb/tables.ts";
import { schema } from "../src/schema/index.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { iso, rng } from "./support/dataset.ts";
import { exec, walApplied } from "./support/questdb.ts";

/** A seeded generator with `pick`, so that a failure can be replayed. */
function generator(seed: number) {
  const next = rng(seed);
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T };
}

/** An hour ago (inside any retention), with microseconds. */
const AN_HOUR_AGO = BigInt(Date.now() - 3_600_000) * 1000n + 123n;

const trade = (n: number) => ({
  tradeId: `t-${n}`,
  timestamp: iso(AN_HOUR_AGO),
  action: "BUY",
  baseToken: "SOL",
  quoteToken: "USDC",
  baseAmount: 1.25,
  quoteAmount: 250.5,
  executedPrice: 200.4,
  transactionFee: 5000,
  priorityFee: "12000",
  expectedSlippage: 0.01,
  actualSlippage: -0.002,
  mevStatus: "PROTECTED",
  transferFees: 0,
  strategy: "s1",
  venue: "main",
  slot: 312345678,
  signature: "4".repeat(64),
  realizedPnl: -3.5,
});
const latency = (n: number) => ({
  metricId: `m-${n}`,
  timestamp: iso(AN_HOUR_AGO + 7n),
  stage: "submit",
  latencyUs: 1234,
  success: true,
  strategy: "s1",
  tradeId: `t-${n}`,
});
const mev = (n: number) => ({
  metricId: `v-${n}`,
  timestamp: iso(AN_HOUR_AGO + 9n),
  protection: "JITO_BUNDLE",
  outcome: "DROPPED",
  tipLamports: 10000,
  tipFloorLamports: "9000",
  attackDetected: false,
  slotsToLand: 2,
  computeUnits: 200000,
  expectedProfit: 1.5,
  lossAvoided: 0.25,
  venue: "main",
  tradeId: `t-${n}`,
});

/** What a caller may put where a value belongs. */
const ODD_VALUES: unknown[] = [
  null,
  "",
  "x",
  "5000",
  "1.5",
  "2026-11-30",
  "2026-11-30T01:02:03Z",
  "BUY",
  "LATER",
  0,
  -1,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 53,
  2 ** 63,
  1e300,
  true,
  false,
  [],
  [1],
  ["a"],
  {},
  { a: 1 },
  "é🚀",
  " SOL",
];

/** A copy of `value` broken (or not) the ways a careless or hostile caller would. */
function mutate(value: Record<string, unknown>, random: ReturnType<typeof generator>): unknown {
  const copy: Record<string, unknown> = { ...value };
  const keys = Object.keys(copy);
  const changes = Math.floor(random.next() * 3);
  for (let i = 0; i < changes; i++) {
    const key = random.pick(keys);
    const roll = random.next();
    if (roll < 0.15) delete copy[key];
    else if (roll < 0.25) copy[`extra${i}`] = random.pick(ODD_VALUES);
    else copy[key] = random.pick(ODD_VALUES);
  }
  const shape = random.next();
  if (shape < 0.03) return [copy];
  if (shape < 0.05) return random.pick(ODD_VALUES);
  return copy;
}

const CASES = [
  {
    query:
      "mutation M($i: [TradeInput!]!, $d: Durability!) { recordTrades(inputs: $i, durability: $d) { accepted ids durability } }",
    row: trade,
    list: true,
  },
  {
    query: "mutation M($i: TradeInput!) { recordTrade(input: $i) { accepted ids } }",
    row: trade,
    list: false,
  },
  {
    query: "mutation M($i: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $i) { accepted ids durability } }",
    row: latency,
    list: true,
  },
  {
    query:
      "mutation M($i: [MevMetricInput!]!, $d: Durability) { recordMevMetrics(inputs: $i, durability: $d) { accepted ids } }",
    row: mev,
    list: true,
  },
];

describe("compiled record mutations on the app's pipeline (rows captured, no QuestDB)", () => {
  /** A Yoga as the API makes it, its rows captured where the batch writer would queue them. */
  const yogaOf = (compiled: boolean) => {
    const captured: EncodedRows[][] = [];
    const services = {
      sink: {
        enqueueEncoded: (chunks: readonly EncodedRows[]) => {
          captured.push([...chunks]);
          const rows = chunks.reduce((n, chunk) => n + chunk.ends.length, 0);
          return { rows, committed: Promise.resolve(3) };
        },
      },
      newIlpBuffer,
      cache: { forRequest: () => ({}) },
      tables: tableNames("cm_"),
      limits: { retentionDays: 30, maxFutureMs: 60_000 },
      maxRecordsPerRequest: 1_000,
      maxPageSize: 1_000,
      maxResultRows: 100_000,
      liveLimits: { lateRowsMs: 0, maxQueued: 0 },
    } as unknown as Services;
    const config = loadConfig({});
    const log = pino({ level: "silent" });
    const options = pipelineYogaOptions(
      { limits: config.limits, writerCanRead: true, production: true },
      services,
      log,
      createOperationLog(log),
    );
    // Without the compiled plugin (the one with `held`), graphql-js runs every operation.
    const plugins = compiled ? options.plugins : options.plugins.filter((plugin) => !("held" in plugin));
    const yoga = createYoga<Record<string, unknown>, Context>({ schema, ...options, plugins, logging: false });
    return { yoga, captured };
  };

  const ask = async (yoga: ReturnType<typeof yogaOf>["yoga"], query: string, variables: unknown) => {
    const response = await yoga.fetch(
      "http://localhost/graphql",
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) },
      // The caller the HTTP entry admits (a writer's key), as it hands it to Yoga.
      { caller: { name: "bot", role: "writer" } },
    );
    return `${response.status} ${await response.text()}`;
  };

  // Server-made idempotency keys are random UUIDs: the same place, any value.
  const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  const normal = (text: string) => text.replace(UUID, "<uuid>");
  const bytesOf = (captured: EncodedRows[][]) =>
    normal(captured.map((chunks) => chunks.map((c) => Buffer.from(c.bytes).toString("latin1")).join("|")).join("\n"));

  it("answers random variables, valid and broken, as graphql-js does, with the same rows", async () => {
    const random = generator(42);
    const plain = yogaOf(false);
    const jit = yogaOf(true);
    const before = compiledOperations();
    let accepted = 0;
    let refused = 0;
    for (const { query, row, list } of CASES) {
      for (let n = 0; n < 150; n++) {
        const items = Array.from({ length: 1 + Math.floor(random.next() * 4) }, (_, k) =>
          random.next() < 0.5 ? row(n * 10 + k) : mutate(row(n * 10 + k), random),
        );
        const variables: Record<string, unknown> = { i: list ? (random.next() < 0.05 ? items[0] : items) : items[0] };
        const durability = random.next();
        if (durability < 0.7) variables.d = "QUEUED";
        else if (durability < 0.85) variables.d = "COMMITTED";
        else if (durability < 0.9) variables.d = random.pick(ODD_VALUES);
        const expected = normal(await ask(plain.yoga, query, variables));
        expect(normal(await ask(jit.yoga, query, variables)), JSON.stringify(variables)).toBe(expected);
        expect(bytesOf(jit.captured), JSON.stringify(variables)).toBe(bytesOf(plain.captured));
        if (expected.startsWith('200 {"data":{')) accepted++;
        else refused++;
      }
    }
    // Both kinds were exercised, and every document was compiled.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
    expect(compiledOperations() - before).toBe(CASES.length);
  });
});

describe("compiled record mutations against the real server and QuestDB", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("compiled_mutations");
  });
  const post = async (query: string, variables: unknown) => {
    const response = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
    });
    return `${response.status} ${await response.text()}`;
  };
  const QUERY =
    "mutation Bot($i: [TradeInput!]!) { recordTrades(inputs: $i, durability: COMMITTED) { accepted ids durability } }";
  const batch = (from: number) =>
    Array.from({ length: 50 }, (_, k) => ({
      ...trade(from + k),
      timestamp: iso(AN_HOUR_AGO + BigInt(from + k) * 1_000n),
      baseAmount: 1 + k / 8,
    }));

  it("compiles a repeated recordTrades, stores its rows as sent, and answers broken variables and rows as before", async () => {
    // Broken variables (a string where a Float belongs) and a broken row (a negative amount),
    // first through graphql-js, then once the document is compiled.
    const badVariables = { i: [{ ...trade(0), baseAmount: "lots" }] };
    const badRow = { i: [{ ...trade(0), baseAmount: -5 }] };
    const early = [await post(QUERY, badVariables), await post(QUERY, badRow)];
    expect(early[0]).toContain("BAD_USER_INPUT");
    expect(early[0]).toContain("baseAmount");
    expect(early[1]).toContain("BAD_USER_INPUT");
    const before = compiledOperations();
    const answers: string[] = [];
    for (let r = 0; r < COMPILE_AFTER + 2; r++) answers.push(await post(QUERY, { i: batch(1_000 * (r + 1)) }));
    expect(compiledOperations() - before).toBe(1);
    for (const [r, answer] of answers.entries()) {
      const ids = batch(1_000 * (r + 1)).map((row) => row.tradeId);
      expect(JSON.parse(answer.slice(4))).toEqual({
        data: { recordTrades: { accepted: 50, ids, durability: "COMMITTED" } },
      });
    }
    expect([await post(QUERY, badVariables), await post(QUERY, badRow)]).toEqual(early);
    // The last (compiled) batch, read back from QuestDB.
    const sent = batch(1_000 * (COMPILE_AFTER + 2));
    const table = `${t.prefix}trades`;
    await walApplied(table);
    const { dataset } = await exec(
      `SELECT trade_id, timestamp, base_amount, priority_fee, realized_pnl FROM ${table} WHERE trade_id IN (${sent.map((row) => `'${row.tradeId}'`).join(", ")}) ORDER BY timestamp`,
    );
    expect(dataset).toEqual(
      sent.map((row) => [row.tradeId, row.timestamp, row.baseAmount, Number(row.priorityFee), row.realizedPnl]),
    );
  });
});
