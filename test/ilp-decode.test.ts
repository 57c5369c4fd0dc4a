// decodeIlpRow reads back what our encoders write: every table the app writes, through the same
// ILP buffer (protocol version 2) the batch writer uses, with values that need escaping.
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BatchWriter, WriterStats } from "../src/ingest/batch-writer.ts";
import { encodeRows, type QueuedRow, rowStart } from "../src/ingest/encoded-rows.ts";
import { encodeLatency, type LatencyMetric } from "../src/ingest/latency-record.ts";
import { encodeMev, type MevMetric } from "../src/ingest/mev-record.ts";
import { createSystemSampler } from "../src/ingest/system-sampler.ts";
import { encodeTrade, type Trade } from "../src/ingest/trade-record.ts";
import { createAlertEngine } from "../src/live/alerts.ts";
import type { IlpBuffer } from "../src/questdb/ilp-buffer.ts";
import { decodeIlpRow } from "../src/questdb/ilp-decode.ts";
import { newIlpBuffer } from "../src/questdb/ilp-http.ts";
import type { TableNames } from "../src/questdb/tables.ts";
import { formatIsoMicros } from "../src/time.ts";

const newBuffer = newIlpBuffer;

/** Encodes rows as the batch writer does and decodes each one back from its bytes. */
function roundTrip(rows: QueuedRow[]) {
  return encodeRows(rows, newBuffer).flatMap(({ bytes, ends }) =>
    Array.from(ends, (end, i) => decodeIlpRow(bytes.subarray(rowStart(ends, i), end))),
  );
}

/** Text that needs every escape ILP has, in names and in quoted strings, and multi-byte UTF-8. */
const AWKWARD = 'say "hi", a=b c\\d\nnext\rline é 日本 🚀 \\"';
/** A double whose bytes include newline, space, comma, equals, backslash and quote. */
const SEPARATOR_BYTES = Buffer.from([0x0a, 0x20, 0x2c, 0x3d, 0x5c, 0x22, 0x0a, 0x40]).readDoubleLE(0);
const DOUBLES = [
  0,
  -0,
  1e308,
  -Number.MAX_VALUE,
  5e-324,
  0.1 + 0.2,
  -123.456,
  1e15,
  SEPARATOR_BYTES,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
/** How a double reads back: JSON has no NaN or Infinity, so those come back as text. */
const asRead = (value: number) => (Number.isFinite(value) ? value : String(value));

const trade = (i: number, partial: Partial<Trade> = {}): Trade => {
  const pick = (k: number) => DOUBLES[(i + k) % DOUBLES.length] as number;
  return {
    timestamp: 1_780_000_000_123_456n + BigInt(i),
    tradeId: `${AWKWARD}-${i}`,
    signature: `sig ${AWKWARD}`,
    action: "SELL",
    baseToken: AWKWARD,
    quoteToken: "USDC",
    baseAmount: pick(0),
    quoteAmount: pick(1),
    executedPrice: pick(2),
    transactionFee: 9_007_199_254_740_991n,
    priorityFee: 0n,
    expectedSlippage: pick(3),
    actualSlippage: pick(4),
    mevStatus: "SANDWICHED",
    transferFees: pick(5),
    strategy: `strategy ${AWKWARD}`,
    venue: "raydium=clmm, v2",
    slot: 312_345_678_901n,
    realizedPnl: pick(6),
    writer: 'bot 7, \\ "key"',
    ...partial,
  };
};

describe("decodeIlpRow", () => {
  it("reads back trades: symbols, strings and doubles of every kind, optionals present and absent", () => {
    const full = DOUBLES.map((_, i) => trade(i));
    const bare = trade(99, {
      signature: null,
      strategy: null,
      venue: null,
      slot: null,
      realizedPnl: null,
      writer: null,
    });
    const rows = [...full, bare].map((t) => ({
      table: "trades",
      encode: (b: IlpBuffer) => encodeTrade(b, "trades", t),
    }));
    expect(roundTrip(rows)).toEqual(
      [...full, bare].map((t) => ({
        table: "trades",
        symbols: {
          action: t.action,
          base_token: t.baseToken,
          quote_token: t.quoteToken,
          mev_status: t.mevStatus,
          ...(t.writer !== null && { writer: t.writer }),
          ...(t.strategy !== null && { strategy: t.strategy }),
          ...(t.venue !== null && { venue: t.venue }),
        },
        fields: {
          trade_id: t.tradeId,
          base_amount: asRead(t.baseAmount),
          quote_amount: asRead(t.quoteAmount),
          executed_price: asRead(t.executedPrice),
          transaction_fee: 9_007_199_254_740_991,
          priority_fee: 0,
          expected_slippage: asRead(t.expectedSlippage),
          actual_slippage: asRead(t.actualSlippage),
          transfer_fees: asRead(t.transferFees),
          ...(t.signature !== null && { signature: t.signature }),
          ...(t.slot !== null && { slot: 312_345_678_901 }),
          ...(t.realizedPnl !== null && { realized_pnl: asRead(t.realizedPnl) }),
        },
        timestamp: formatIsoMicros(t.timestamp),
      })),
    );
    expect(roundTrip(rows.slice(1, 2))[0]?.fields.base_amount).toBe(-0);
  });

  it("reads back latency measurements and MEV results", () => {
    const latency: LatencyMetric = {
      timestamp: -1_000_001n,
      metricId: AWKWARD,
      stage: "confirm step",
      latencyUs: 123_456_789n,
      success: false,
      strategy: AWKWARD,
      tradeId: `t,${AWKWARD}`,
      writer: "w=1",
    };
    const mev: MevMetric = {
      timestamp: 1_780_000_000_000_000n,
      metricId: "m 1",
      tradeId: null,
      protection: "JITO_BUNDLE",
      outcome: "SANDWICHED",
      tipLamports: 10_000n,
      expectedProfit: SEPARATOR_BYTES,
      realizedProfit: -0.000_001,
      lossAvoided: Number.NaN,
      attackDetected: true,
      slotsToLand: 3,
      strategy: null,
      venue: "orca",
      baseToken: "SOL",
      quoteToken: "USDC",
      tipFloorLamports: 9_000n,
      computeUnits: 200_000,
      writer: AWKWARD,
    };
    expect(
      roundTrip([
        { table: "latency_metrics", encode: (b) => encodeLatency(b, "latency_metrics", latency) },
        { table: "mev_metrics", encode: (b) => encodeMev(b, "mev_metrics", mev) },
      ]),
    ).toEqual([
      {
        table: "latency_metrics",
        symbols: { stage: "confirm step", writer: "w=1", strategy: AWKWARD },
        fields: { metric_id: AWKWARD, latency_us: 123_456_789, success: false, trade_id: `t,${AWKWARD}` },
        timestamp: "1969-12-31T23:59:58.999999Z",
      },
      {
        table: "mev_metrics",
        symbols: {
          protection: "JITO_BUNDLE",
          outcome: "SANDWICHED",
          writer: AWKWARD,
          venue: "orca",
          base_token: "SOL",
          quote_token: "USDC",
        },
        fields: {
          metric_id: "m 1",
          tip_lamports: 10_000,
          attack_detected: true,
          expected_profit: SEPARATOR_BYTES,
          realized_profit: -0.000_001,
          loss_avoided: "NaN",
          slots_to_land: 3,
          tip_floor_lamports: 9_000,
          compute_units: 200_000,
        },
        timestamp: "2026-05-28T20:26:40.000000Z",
      },
    ]);
  });

  describe("the server's own rows", () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const stats: WriterStats = {
      queuedRows: 7,
      inFlightRows: 5,
      oldestQueuedMs: 1234.5678,
      lastFlushMs: 0.1 + 0.2,
      flushes: 9,
      rowsWritten: 9_007_199_254_740_991,
      retries: 2,
      rejectedRows: 1,
    };
    const capture = () => {
      const rows: QueuedRow[] = [];
      const writer = {
        enqueue: (queued: readonly QueuedRow[]) => {
          rows.push(...queued);
          return { rows: queued.length, committed: Promise.resolve(0) };
        },
        stats: () => stats,
      } as unknown as BatchWriter;
      return { rows, writer };
    };

    it("reads back system metrics samples", async () => {
      vi.useFakeTimers({ now: new Date("2026-11-29T03:00:00.000Z") });
      const { rows, writer } = capture();
      const instance = 'api "1", host=a b\\c';
      const sampler = createSystemSampler({
        writer,
        table: "system_metrics",
        instance,
        intervalMs: 1000,
        log: pino({ level: "silent" }),
      });
      await vi.advanceTimersByTimeAsync(1000);
      sampler.stop();
      const [decoded] = roundTrip(rows);
      expect(decoded).toEqual({
        table: "system_metrics",
        symbols: { instance },
        fields: {
          queue_depth: 12,
          oldest_queued_ms: 1234.5678,
          flush_ms: 0.1 + 0.2,
          rows_written: 9_007_199_254_740_991,
          retries: 2,
          rejected_rows: 1,
          event_loop_lag_ms: expect.any(Number),
          rss_bytes: expect.any(Number),
          cpu_percent: expect.any(Number),
        },
        timestamp: "2026-11-29T03:00:01.000000Z",
      });
      expect(Number.isSafeInteger(decoded?.fields.rss_bytes)).toBe(true);
    });

    it("reads back alert events", async () => {
      const { rows, writer } = capture();
      const instance = 'api, "2"';
      const engine = createAlertEngine({
        sql: undefined as never,
        tables: { alert_events: "alert_events" } as TableNames,
        writer,
        newBuffer: newIlpBuffer,
        instance,
        rules: [
          {
            id: "queue:depth-1",
            kind: "QUEUE_DEPTH",
            stage: null,
            windowSeconds: 60,
            threshold: 10,
            hysteresis: 0.1,
          },
        ],
        intervalMs: 0,
        statementTimeoutMs: 1_000,
        log: pino({ level: "silent" }),
      });
      const [event] = await engine.evaluate();
      engine.stop();
      if (!event) throw new Error("no alert fired");
      expect(roundTrip(rows)).toEqual([
        {
          table: "alert_events",
          symbols: { rule_id: "queue:depth-1", kind: "QUEUE_DEPTH", state: "FIRING", instance },
          fields: { event_id: event.eventId, value: 12, threshold: 10, message: event.message },
          timestamp: formatIsoMicros(event.at),
        },
      ]);
      expect(event.message).toBe(`queue depth of ${instance} is 12 rows (threshold 10 rows): firing`);
    });
  });

  it("reads timestamp columns and designated timestamps in µs or ns, rows without timestamp, symbols or fields, and big integers", () => {
    const rows: QueuedRow[] = [
      {
        table: "odd table",
        encode: (b) =>
          b
            .table("odd table")
            .timestampColumn("at_us", 1_780_000_000_000_001n, "us")
            .timestampColumn("at_ns", -1n, "ns")
            .intColumn("big", -(2 ** 60))
            .booleanColumn("yes", true)
            .at(1_780_000_000_000_000_123n, "ns"),
      },
      { table: "t", encode: (b) => b.table("t").symbol("only", "sym bol").at(0n, "us") },
      { table: "t", encode: (b) => b.table("t").stringColumn("s", "").atNow() },
      { table: "t", encode: (b) => b.table("t").symbol("a", "1").floatColumn("x", 1.5).atNow() },
    ];
    expect(roundTrip(rows)).toEqual([
      {
        table: "odd table",
        symbols: {},
        fields: {
          at_us: "2026-05-28T20:26:40.000001Z",
          at_ns: "1969-12-31T23:59:59.999999999Z",
          // The client writes Number#toString(): −2⁶⁰ as its shortest digits.
          big: "-1152921504606847000",
          yes: true,
        },
        timestamp: "2026-05-28T20:26:40.000000123Z",
      },
      { table: "t", symbols: { only: "sym bol" }, fields: {}, timestamp: "1970-01-01T00:00:00.000000Z" },
      { table: "t", symbols: {}, fields: { s: "" }, timestamp: null },
      { table: "t", symbols: { a: "1" }, fields: { x: 1.5 }, timestamp: null },
    ]);
  });

  it("refuses bytes that are not one whole row, naming the byte", () => {
    const [encoded] = encodeRows(
      [{ table: "t", encode: (b) => b.table("t").floatColumn("x", 1).at(1n, "us") }],
      newBuffer,
    );
    const bytes = encoded?.bytes as Uint8Array;
    expect(() => decodeIlpRow(bytes.subarray(0, 12))).toThrow("not an ILP row: a double cut short at byte 4 of 12");
    expect(() => decodeIlpRow(Buffer.concat([bytes, bytes]))).toThrow(
      `not an ILP row: more bytes after the row's newline at byte ${bytes.length} of ${2 * bytes.length}`,
    );
    expect(() => decodeIlpRow(Buffer.from("t x=1i 2t"))).toThrow("not an ILP row: unexpected end at byte 9 of 9");
    expect(() => decodeIlpRow(Buffer.from("t x=[1] 2t\n"))).toThrow('not an ILP row: unreadable value "[1]" at byte 4');
  });
});
