// encodeRows: rows become ILP bytes per table, with each row's end, through one reused buffer
// (the API's own, src/questdb/ilp-buffer.ts).
import { describe, expect, it } from "vitest";
import { encodeRows, encodeRowsInSlices, type QueuedRow } from "../src/ingest/encoded-rows.ts";
import { newIlpBuffer } from "../src/questdb/ilp-http.ts";

function countingFactory() {
  const made = { count: 0 };
  const newBuffer = () => {
    made.count += 1;
    return newIlpBuffer();
  };
  return { made, newBuffer };
}

const row = (table: string, id: number): QueuedRow => ({
  table,
  encode: (b) =>
    b
      .table(table)
      .symbol("id", String(id))
      .floatColumn("x", id / 3)
      .at(BigInt(id), "us"),
});
const line = (table: string, id: number) => {
  const b = newIlpBuffer();
  row(table, id).encode(b);
  return b.toBufferNew() as Buffer;
};

describe("encodeRows", () => {
  it("gives one EncodedRows per table in order of first appearance, rows in order, each row's end in ends", () => {
    const { newBuffer } = countingFactory();
    const encoded = encodeRows([row("b", 1), row("a", 2), row("b", 3), row("b", 10)], newBuffer);
    const b = [line("b", 1), line("b", 3), line("b", 10)];
    expect(encoded).toEqual([
      {
        table: "b",
        bytes: Buffer.concat(b),
        ends: Uint32Array.of(b[0]?.length ?? 0, (b[0]?.length ?? 0) + (b[1]?.length ?? 0), Buffer.concat(b).length),
      },
      { table: "a", bytes: line("a", 2), ends: Uint32Array.of(line("a", 2).length) },
    ]);
    expect(encodeRows([], newBuffer)).toEqual([]);
  });

  it("reuses one buffer per factory, and its output owns its bytes", () => {
    const { made, newBuffer } = countingFactory();
    const [first] = encodeRows([row("t", 1)], newBuffer);
    const copy = Buffer.from(first?.bytes ?? []);
    encodeRows([row("t", 2), row("t", 3)], newBuffer);
    encodeRows([row("t", 4)], newBuffer);
    expect(made.count).toBe(1);
    expect(Buffer.from(first?.bytes ?? [])).toEqual(copy);
    encodeRows([row("t", 5)], countingFactory().newBuffer);
    expect(made.count).toBe(1);
  });

  it("throws what an encoder throws, and the next call starts from an empty buffer", () => {
    const { newBuffer } = countingFactory();
    const failing: QueuedRow = {
      table: "t",
      encode: (b) => {
        b.table("t").symbol("half", "written");
        throw new Error("cannot encode");
      },
    };
    expect(() => encodeRows([row("t", 1), failing], newBuffer)).toThrow("cannot encode");
    expect(encodeRows([row("t", 2)], newBuffer)).toEqual([
      { table: "t", bytes: line("t", 2), ends: Uint32Array.of(line("t", 2).length) },
    ]);
  });

  it("refuses an encoder that writes no row or leaves its row unfinished", () => {
    const { newBuffer } = countingFactory();
    expect(() => encodeRows([row("t", 1), { table: "t", encode: () => {} }], newBuffer)).toThrow(
      "the encoder of a t row wrote nothing",
    );
    const open: QueuedRow = { table: "t", encode: (b) => void b.table("t").symbol("a", "b") };
    expect(() => encodeRows([row("t", 1), open], newBuffer)).toThrow(
      "the encoder of a t row did not finish it with at()",
    );
    expect(encodeRows([row("t", 3)], newBuffer)[0]?.bytes).toEqual(line("t", 3));
  });

  it("encodeRowsInSlices encodes the same rows in order, a slice per turn of the event loop", async () => {
    const { newBuffer } = countingFactory();
    let turn = 0;
    let spinning = true;
    const spin = () => {
      turn++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const seen: number[] = [];
    const watched = (r: QueuedRow): QueuedRow => ({
      table: r.table,
      encode: (b) => {
        seen.push(turn);
        r.encode(b);
      },
    });
    const rows = [row("a", 1), row("b", 2), row("a", 3), row("a", 4), row("b", 5)];
    const sliced = await encodeRowsInSlices(rows.map(watched), newBuffer, 2);
    spinning = false;
    expect(sliced.map((c) => [c.table, c.ends.length])).toEqual([
      ["a", 1],
      ["b", 1],
      ["a", 2],
      ["b", 1],
    ]);
    const bytesOf = (table: string) => Buffer.concat(sliced.filter((c) => c.table === table).map((c) => c.bytes));
    expect(bytesOf("a")).toEqual(Buffer.concat([line("a", 1), line("a", 3), line("a", 4)]));
    expect(bytesOf("b")).toEqual(Buffer.concat([line("b", 2), line("b", 5)]));
    const [first, , third, , fifth] = seen as [number, number, number, number, number];
    expect(seen).toEqual([first, first, third, third, fifth]);
    expect(first < third && third < fifth).toBe(true);
  });
});
