// Reads back one ILP row as @questdb/nodejs-client's SenderBuffer writes it in protocol version 2
// (v4.2.0, dist/es/index.mjs): `table,sym=val,… col=val,… 123t\n`. Used for dead-letter lines,
// where the row exists only as the bytes that were queued.
// - table, symbol and column names and symbol values: `\` before space, comma, equals, newline,
//   carriage return and backslash;
// - strings: double-quoted, `\` before `"`, backslash, newline and carriage return;
// - integers `123i`, timestamps `123t` (µs) or `123n` (ns), booleans `t`/`f`;
// - doubles are binary: `=` then type byte 16 then 8 bytes little-endian, so a row can hold any
//   byte, newlines included, and is found by its length, never by scanning for `\n`.
// Arrays (type byte 14) and protocol v3's decimals are not written by this app and are refused.
import { formatIsoMicros } from "../time.ts";

export type IlpValue = number | string | boolean;

export interface DecodedIlpRow {
  table: string;
  symbols: Record<string, string>;
  /**
   * Doubles and safe integers as numbers, larger integers as decimal strings, NaN and ±Infinity
   * as "NaN"/"Infinity"/"-Infinity" (JSON has no such numbers), timestamps as ISO-8601 UTC text.
   */
  fields: Record<string, IlpValue>;
  /** The designated timestamp as ISO-8601 UTC text (µs, or ns when sent in ns); null for `atNow()` rows. */
  timestamp: string | null;
}

const BACKSLASH = 0x5c;
const SPACE = 0x20;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const TYPE_DOUBLE = 16;

const utf8 = new TextDecoder();

/** Decodes exactly one row, its newline included; throws an Error naming the byte it could not read. */
export function decodeIlpRow(bytes: Uint8Array): DecodedIlpRow {
  let pos = 0;
  const fail = (what: string): never => {
    throw new Error(`not an ILP row: ${what} at byte ${pos} of ${bytes.length}`);
  };
  const expect = (byte: number) => {
    if (bytes[pos] !== byte) fail(`expected ${JSON.stringify(String.fromCharCode(byte))}`);
    pos++;
  };
  /** Escaped text up to (not including) an unescaped byte that `stop` accepts. */
  const text = (stop: (byte: number) => boolean): string => {
    const out: number[] = [];
    for (;;) {
      let byte = bytes[pos];
      if (byte === undefined) return fail("unexpected end");
      if (stop(byte)) return utf8.decode(Uint8Array.from(out));
      if (byte === BACKSLASH) {
        byte = bytes[++pos];
        if (byte === undefined) return fail("unexpected end after \\");
      }
      out.push(byte);
      pos++;
    }
  };
  const name = () => text((b) => b === EQUALS || b === NEWLINE);
  /** Unescaped ASCII up to a comma, space or newline: numbers, booleans, timestamps. */
  const token = () => text((b) => b === COMMA || b === SPACE || b === NEWLINE);

  const table = text((b) => b === COMMA || b === SPACE || b === NEWLINE);
  const symbols: Record<string, string> = {};
  while (bytes[pos] === COMMA) {
    pos++;
    const key = name();
    expect(EQUALS);
    symbols[key] = token();
  }
  const fields: Record<string, IlpValue> = {};
  let timestamp: string | null = null;
  if (bytes[pos] === SPACE) {
    pos++;
    if (fieldFollows(bytes, pos)) {
      do {
        if (bytes[pos] === COMMA) pos++;
        const key = name();
        expect(EQUALS);
        fields[key] = fieldValue();
      } while (bytes[pos] === COMMA);
      if (bytes[pos] === SPACE) {
        pos++;
        timestamp = designated(token());
      }
    } else {
      timestamp = designated(token());
    }
  }
  expect(NEWLINE);
  if (pos !== bytes.length) fail("more bytes after the row's newline");
  return { table, symbols, fields, timestamp };

  function fieldValue(): IlpValue {
    const first = bytes[pos];
    if (first === EQUALS) {
      const type = bytes[pos + 1];
      if (type !== TYPE_DOUBLE) return fail(`binary value of type ${type}, not a double`);
      if (pos + 10 > bytes.length) return fail("a double cut short");
      const value = new DataView(bytes.buffer, bytes.byteOffset + pos + 2, 8).getFloat64(0, true);
      pos += 10;
      return Number.isFinite(value) ? value : String(value);
    }
    if (first === QUOTE) {
      pos++;
      const value = text((b) => b === QUOTE);
      pos++;
      return value;
    }
    const start = pos;
    const raw = token();
    if (raw === "t" || raw === "f") return raw === "t";
    const integer = /^(-?\d+)([itn])$/.exec(raw);
    if (!integer) {
      pos = start;
      return fail(`unreadable value ${JSON.stringify(raw)}`);
    }
    const [, digits = "", suffix] = integer;
    if (suffix !== "i") return iso(BigInt(digits), suffix === "n");
    const n = Number(digits);
    return Number.isSafeInteger(n) ? n : BigInt(digits).toString();
  }

  function designated(raw: string): string {
    const m = /^(-?\d+)([tn]?)$/.exec(raw);
    if (!m) return fail(`unreadable designated timestamp ${JSON.stringify(raw)}`);
    // No suffix: protocol version 1, always nanoseconds.
    return iso(BigInt(m[1] ?? ""), m[2] !== "t");
  }
}

/** After the space that ends the symbols: a `name=` (fields) rather than a timestamp? */
function fieldFollows(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === EQUALS) return true;
    if (byte === SPACE || byte === NEWLINE) return false;
    if (byte === BACKSLASH) i++;
  }
  return false;
}

function iso(value: bigint, nanos: boolean): string {
  if (!nanos) return formatIsoMicros(value);
  const micros = value / 1000n - (value % 1000n < 0n ? 1n : 0n);
  const rest = value - micros * 1000n;
  return `${formatIsoMicros(micros).slice(0, -1)}${rest.toString().padStart(3, "0")}Z`;
}
