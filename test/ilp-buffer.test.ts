// The API's ILP buffer writes exactly the bytes @questdb/nodejs-client's SenderBuffer (protocol
// version 2) writes, and refuses what it refuses with the same words: every table the app writes,
// random rows with every character ILP escapes, multi-byte and broken UTF-16, odd doubles and the
// largest integers; rows past the initial 64 KB; an unfinished row kept across toBufferNew.
import { createBuffer, SenderOptions } from "@questdb/nodejs-client";
import { describe, expect, it } from "vitest";
import type { Column, Fields, TableDescriptor } from "../src/questdb/descriptor.ts";
import { FastIlpBuffer, type IlpBuffer, REFERENCE_BUFFER_OPTIONS } from "../src/questdb/ilp-buffer.ts";
import { TABLES } from "../src/questdb/tables.ts";
import { rng } from "./support/dataset.ts";

const reference = (): IlpBuffer => createBuffer(new SenderOptions(REFERENCE_BUFFER_OPTIONS));

/** A seeded generator with `pick`, so that a failure can be replayed. */
function generator(seed: number) {
  const next = rng(seed);
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T };
}

/** Pieces of text: every character ILP escapes, quotes, multi-byte UTF-8, a lone surrogate. */
const PIECES = [
  "a",
  "SOL",
  " ",
  ",",
  "=",
  "\n",
  "\r",
  "\\",
  '"',
  "'",
  "é",
  "日本",
  "🚀",
  "\ud800",
  "\udfff",
  "\t",
  "\u0000",
  "x".repeat(40),
];

const DOUBLES = [0, -0, 1.5, -2.25, 0.1, 1e-300, 5e-324, 1.7976931348623157e308, Number.NaN, Infinity, -Infinity];

function randomValue(column: Column, random: ReturnType<typeof generator>): unknown {
  if (column.nullable && random.next() < 0.25) return null;
  const text = () => Array.from({ length: Math.floor(random.next() * 6) }, () => random.pick(PIECES)).join("");
  switch (column.type) {
    case "TIMESTAMP":
      return BigInt(Math.floor((random.next() - 0.2) * 2e15));
    case "SYMBOL":
      // A symbol value is never empty in the app; text() may be.
      return text() || "s";
    case "VARCHAR":
      return text();
    case "DOUBLE":
      return random.next() < 0.4 ? random.pick(DOUBLES) : (random.next() - 0.5) * 10 ** Math.floor(random.next() * 30);
    case "LONG":
      return BigInt(Math.floor((random.next() - 0.5) * 2 * Number.MAX_SAFE_INTEGER));
    case "INT":
      return Math.floor((random.next() - 0.5) * 2 ** 31);
    case "BOOLEAN":
      return random.next() < 0.5;
  }
}

function randomRow<F extends Fields>(table: TableDescriptor<F>, random: ReturnType<typeof generator>) {
  const row: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(table.fields)) row[field] = randomValue(column, random);
  return row as Parameters<TableDescriptor<F>["encode"]>[2];
}

/** Runs the same writes on both buffers: the bytes of the finished rows, or the error's words. */
function both(write: (buffer: IlpBuffer) => void): { ours: Buffer | string | null; theirs: Buffer | string | null } {
  const outcome = (buffer: IlpBuffer) => {
    try {
      write(buffer);
      return buffer.toBufferNew();
    } catch (error) {
      return `throws: ${(error as Error).message}`;
    }
  };
  return { ours: outcome(new FastIlpBuffer()), theirs: outcome(reference()) };
}

/** Every table the app creates (each is a descriptor: src/questdb/tables.ts). */
const DESCRIPTORS = TABLES as unknown as TableDescriptor<Fields>[];

describe("the API's ILP buffer", () => {
  it("writes the client's bytes for random rows of every table the app writes", () => {
    const random = generator(20261130);
    for (const table of DESCRIPTORS) {
      for (let i = 0; i < 300; i++) {
        const rows = Array.from({ length: 1 + Math.floor(random.next() * 3) }, () => randomRow(table, random));
        const name = random.next() < 0.2 ? "odd table=x" : `bench_${table.name}`;
        const { ours, theirs } = both((buffer) => {
          for (const row of rows) table.encode(buffer, name, row);
        });
        expect(Buffer.isBuffer(ours), `${table.name}: ${String(ours)}`).toBe(true);
        expect(ours).toEqual(theirs);
      }
    }
  });

  it("writes every ILP escape, multi-byte text and broken UTF-16 as the client does", () => {
    for (const text of [...PIECES, PIECES.join(""), "", "a\\\\b", '\\"', "é=日本,🚀 x"]) {
      const { ours, theirs } = both((b) =>
        b
          .table("t")
          .symbol("s", text || "e")
          .stringColumn("v", text)
          .at(1n, "us"),
      );
      expect(ours).toEqual(theirs);
    }
  });

  it("writes every column type and timestamp unit as the client does", () => {
    const { ours, theirs } = both((b) => {
      for (const value of [...DOUBLES, 123.456, -1e21, 2 ** 53]) b.table("t").floatColumn("x", value).at(0n, "us");
      for (const value of [0, -1, 2 ** 53 - 1, -(2 ** 60), 1e21]) b.table("t").intColumn("i", value).at(1, "us");
      b.table("t").booleanColumn("yes", true).booleanColumn("no", false).at(-5n, "us");
      b.table("t").timestampColumn("us", 1_780_000_000_000_001n, "us").at(1_780_000_000_000_000_123n, "ns");
      b.table("t").timestampColumn("ms", 1_780_000_000_000, "ms").at(1_780_000_000_000, "ms");
      b.table("t").timestampColumn("ns", -1_500n, "ns").at(7, "us");
      b.table("t").symbol("only", 42).at(3n, "us");
      b.table("t").stringColumn("s", "").atNow();
    });
    expect(Buffer.isBuffer(ours)).toBe(true);
    expect(ours).toEqual(theirs);
  });

  it("refuses what the client refuses, with the client's words", () => {
    const cases: [string, (b: IlpBuffer) => void][] = [
      ["a fraction as an integer", (b) => b.table("t").intColumn("i", 1.5)],
      ["NaN as an integer", (b) => b.table("t").intColumn("i", Number.NaN)],
      ["a string as a double", (b) => b.table("t").floatColumn("x", "1" as unknown as number)],
      ["a number as a string", (b) => b.table("t").stringColumn("s", 1 as unknown as string)],
      ["a string as a boolean", (b) => b.table("t").booleanColumn("b", "t" as unknown as boolean)],
      ["a fraction as a timestamp", (b) => b.table("t").timestampColumn("ts", 1.5, "us")],
      ["a number in ns", (b) => b.table("t").timestampColumn("ts", 1, "ns")],
      ["a fractional designated timestamp", (b) => b.table("t").floatColumn("x", 1).at(0.5, "us")],
      ["a designated number in ns", (b) => b.table("t").floatColumn("x", 1).at(1, "ns")],
      ["a row without columns", (b) => b.table("t").at(1n, "us")],
      ["a row without columns, atNow", (b) => b.table("t").atNow()],
      ["a symbol after a column", (b) => b.table("t").floatColumn("x", 1).symbol("s", "v")],
      ["a column before the table", (b) => b.floatColumn("x", 1)],
      ["a symbol before the table", (b) => b.symbol("s", "v")],
      ["two tables", (b) => b.table("t").table("u")],
      ["a null symbol value", (b) => b.table("t").symbol("s", null)],
      ["a table name with a slash", (b) => b.table("a/b")],
      ["a table name ending with a dot", (b) => b.table("a.")],
      ["an empty table name", (b) => b.table("")],
      ["a table name too long", (b) => b.table("t".repeat(128))],
      ["a column name with a dot", (b) => b.table("t").floatColumn("a.b", 1)],
      ["a symbol name with a minus", (b) => b.table("t").symbol("a-b", "v")],
      ["an empty column name", (b) => b.table("t").stringColumn("", "v")],
      ["a column name too long", (b) => b.table("t").booleanColumn("c".repeat(128), true)],
      ["a table name that is not a string", (b) => b.table(1 as unknown as string)],
      ["a column name that is not a string", (b) => b.table("t").floatColumn(1 as unknown as string, 1)],
    ];
    for (const [what, write] of cases) {
      const { ours, theirs } = both(write);
      expect(typeof theirs === "string" && theirs.startsWith("throws: "), `${what}: the client refuses it`).toBe(true);
      expect(ours, what).toBe(theirs);
    }
  });

  it("grows past its first 64 KB and keeps an unfinished row across toBufferNew, as the client does", () => {
    const big = "é".repeat(100_000);
    const write = (b: IlpBuffer) => {
      for (let i = 0; i < 3_000; i++)
        b.table("t")
          .symbol("k", `v${i}`)
          .floatColumn("x", i / 7)
          .at(BigInt(i), "us");
      b.table("t").stringColumn("big", big).at(1n, "us");
    };
    const ours = new FastIlpBuffer();
    const theirs = reference();
    for (const buffer of [ours, theirs]) {
      write(buffer);
      buffer.table("t").symbol("open", "row");
    }
    expect(ours.currentPosition()).toBe(theirs.currentPosition());
    expect(ours.toBufferNew()).toEqual(theirs.toBufferNew());
    expect(ours.currentPosition()).toBe(theirs.currentPosition());
    // The unfinished row is still there: finishing it writes the same row.
    for (const buffer of [ours, theirs]) buffer.floatColumn("x", 1).at(2n, "us");
    expect(ours.toBufferNew()).toEqual(theirs.toBufferNew());
    expect(ours.toBufferNew()).toBeNull();
    ours.reset();
    expect(ours.currentPosition()).toBe(0);
  });
});
