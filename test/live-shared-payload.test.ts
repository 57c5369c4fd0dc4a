// A `next` payload is serialised once per result for all subscribers that receive it
// (live/ws-server.ts: createSharedPayloads, and for tradeRecorded the direct path, directEvents):
// what a client receives must stay byte for byte what graphql-ws would have sent,
// JSON.stringify({ id, type, payload }), whatever the client's id. Raw sockets against the real
// server and QuestDB.
import { beforeAll, describe, expect, it } from "vitest";
import { RecordTradesDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";
import { rawClient } from "./support/raw-ws.ts";

const TRADES = "subscription($f: TradeFilter) { tradeRecorded(filter: $f) { tradeId baseToken baseAmount } }";
/** What graphql-ws sends for a trade: its serialisation of the message object. */
const next = (id: string, tradeId: string) =>
  JSON.stringify({
    id,
    type: "next",
    payload: { data: { tradeRecorded: { tradeId, baseToken: "SOL", baseAmount: 1 } } },
  });
/** An id that contains the placeholder's marker (a quote and a NUL character included). */
const FORGED = 'x","payload":{"\u0000shared":0}}';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("shared-payload", { LIVE_POLL_INTERVAL_MS: "50" });
});

describe("shared next payloads", () => {
  it("sends every subscriber of a cohort graphql-ws's exact bytes, once each and in order, whatever the id", async () => {
    const a = await rawClient(t.url);
    const b = await rawClient(t.url);
    const filter = { f: { strategy: "shared-payload" } };
    a.subscribe("1", TRADES, filter);
    a.subscribe(FORGED, TRADES, filter);
    b.subscribe("1", TRADES, filter);
    b.subscribe("2", "subscription { tradeRecorded { noSuchField } }");
    await eventually(async () => (t.app.services.live.stats().subscribers === 3 ? true : undefined), "3 subscribers");
    await eventually(async () => (b.of("2").length === 1 ? true : undefined), "the validation error");
    // Two flushes: the second poll's results are shared again.
    const batches = [
      ["sp-0", "sp-1", "sp-2"],
      ["sp-3", "sp-4"],
    ];
    for (const ids of batches) {
      const inputs = ids.map((id) => ({ ...makeTrade(id), strategy: "shared-payload" }));
      await t.gql(RecordTradesDocument, { inputs, durability: "COMMITTED" });
    }
    const all = batches.flat();
    await eventually(
      async () => (a.texts.length === 10 && b.of("1").length === 5 ? true : undefined),
      "every trade at every subscriber",
    );
    expect(a.of("1")).toEqual(all.map((id) => next("1", id)));
    expect(a.of(FORGED)).toEqual(all.map((id) => next(FORGED, id)));
    expect(b.of("1")).toEqual(all.map((id) => next("1", id)));
    // The error message is graphql-ws's serialisation too, and names the field.
    const [error] = b.of("2");
    const parsed = JSON.parse(error as string) as { payload: { message: string }[] };
    expect(error).toBe(JSON.stringify({ id: "2", type: "error", payload: parsed.payload }));
    expect(parsed.payload[0]?.message).toContain("noSuchField");

    // A completed operation gets nothing more; the others get the next trade once.
    a.complete(FORGED);
    await eventually(async () => (t.app.services.live.stats().subscribers === 2 ? true : undefined), "2 subscribers");
    await t.gql(RecordTradesDocument, {
      inputs: [{ ...makeTrade("sp-5"), strategy: "shared-payload" }],
      durability: "COMMITTED",
    });
    await eventually(async () => (b.of("1").length === 6 ? true : undefined), "the last trade");
    await eventually(async () => (a.of("1").length === 6 ? true : undefined), "the last trade at a");
    expect(a.of("1").at(-1)).toBe(next("1", "sp-5"));
    expect(b.of("1").at(-1)).toBe(next("1", "sp-5"));
    expect(a.of(FORGED)).toHaveLength(5);
    expect(b.texts).toHaveLength(7);
  });
});
