// The ILP row buffer of the API: the bytes @questdb/nodejs-client's SenderBuffer writes with
// protocol version 2 (test/ilp-buffer.test.ts compares the two byte for byte), written faster.
// The client's buffer writes every string a character at a time (one Buffer.write per character
// of each name and value) and checks each column name's characters at each row: a 1,000-trade
// recordTrades spent ~27 ms encoding, more than its parsing and checks together. Here a name is
// checked once (by the client's own rules, through its buffer) and kept escaped with its
// separator and `=`, short ASCII text is copied without a call into C++, and only a value
// holding a character ILP escapes is escaped (a trade ~2.4 µs, 5.3 before those two changes).
import { createBuffer, SenderOptions } from "@questdb/nodejs-client";

/** Units of the timestamps the buffer takes, as the client's. */
export type TimestampUnit = "ns" | "us" | "ms";

/** What the encoders use of an ILP row buffer: this file's, or the client's SenderBuffer. */
export interface IlpBuffer {
  table(table: string): IlpBuffer;
  symbol(name: string, value: unknown): IlpBuffer;
  stringColumn(name: string, value: string): IlpBuffer;
  booleanColumn(name: string, value: boolean): IlpBuffer;
  floatColumn(name: string, value: number): IlpBuffer;
  intColumn(name: string, value: number): IlpBuffer;
  timestampColumn(name: string, value: number | bigint, unit: TimestampUnit): IlpBuffer;
  at(timestamp: number | bigint, unit: TimestampUnit): void;
  /** Ends the row without a timestamp: QuestDB stamps it on arrival. */
  atNow(): void;
  currentPosition(): number;
  /** A copy of the finished rows; the buffer keeps an unfinished one. Null when there is none. */
  toBufferNew(): Buffer | null;
  reset(): IlpBuffer;
}

/** Characters escaped by a backslash in table and column names and symbol values. */
const UNQUOTED_SPECIAL = /[ ,=\n\r\\]/;
const UNQUOTED_SPECIAL_ALL = /[ ,=\n\r\\]/g;
/** Characters escaped by a backslash inside a quoted (VARCHAR) value. */
const QUOTED_SPECIAL = /[\n\r"\\]/;
const QUOTED_SPECIAL_ALL = /[\n\r"\\]/g;

const escapeUnquoted = (text: string) =>
  UNQUOTED_SPECIAL.test(text) ? text.replace(UNQUOTED_SPECIAL_ALL, "\\$&") : text;
const escapeQuoted = (text: string) => (QUOTED_SPECIAL.test(text) ? text.replace(QUOTED_SPECIAL_ALL, "\\$&") : text);

/** protocol v2: a DOUBLE is `=`, then entity type 16, then its 8 bytes little-endian. */
const EQUALS = 0x3d;
const ENTITY_TYPE_DOUBLE = 16;

/** Text up to this length is tried as ASCII in a loop before Buffer.write (see text()). */
const ASCII_LOOP_MAX = 64;

/** Sizes, as the client's buffer was configured before this one replaced it. */
const INITIAL_SIZE = 65_536;
const MAX_SIZE = 1_073_741_824;

/**
 * The client's buffer whose bytes this one writes (the address is never dialled). Also checks
 * names here, by the client's own rules and with its errors, once each.
 */
export const REFERENCE_BUFFER_OPTIONS = `http::addr=localhost:9000;protocol_version=2;auto_flush=off;init_buf_size=${INITIAL_SIZE};max_buf_size=${MAX_SIZE}`;
const checker = createBuffer(new SenderOptions(REFERENCE_BUFFER_OPTIONS));
const tableNames = new Map<string, string>();
const columnNames = new Map<string, ColumnText>();

function checkedTable(name: string): string {
  const known = tableNames.get(name);
  if (known !== undefined) return known;
  try {
    checker.table(name);
  } finally {
    checker.reset();
  }
  const escaped = escapeUnquoted(name);
  if (tableNames.size < 10_000) tableNames.set(name, escaped);
  return escaped;
}

/** A checked column name as written: after a comma or (the first column) a space, with its `=`. */
interface ColumnText {
  readonly afterComma: string;
  readonly afterSpace: string;
}

function checkedColumn(name: string): ColumnText {
  const known = columnNames.get(name);
  if (known !== undefined) return known;
  try {
    checker.table("t");
    checker.symbol(name, "v");
  } finally {
    checker.reset();
  }
  const escaped = escapeUnquoted(name);
  const text = { afterComma: `,${escaped}=`, afterSpace: ` ${escaped}=` };
  if (columnNames.size < 10_000) columnNames.set(name, text);
  return text;
}

function micros(value: number | bigint, unit: TimestampUnit): bigint {
  const big = BigInt(value);
  switch (unit) {
    case "us":
      return big;
    case "ms":
      return big * 1000n;
    case "ns":
      return big / 1000n;
    default:
      throw new Error(`Unknown timestamp unit: ${unit}`);
  }
}

/**
 * An ILP row buffer writing what the client's SenderBuffer (protocol version 2) writes, with the
 * same checks and errors for what the encoders may hand it.
 */
export class FastIlpBuffer implements IlpBuffer {
  private buffer = Buffer.allocUnsafe(INITIAL_SIZE);
  private position = 0;
  private endOfLastRow = 0;
  private hasTable = false;
  private hasSymbols = false;
  private hasColumns = false;

  /** Room for `bytes` more bytes, the buffer doubling as the client's grows. */
  private room(bytes: number): void {
    const needed = this.position + bytes;
    if (needed <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < needed) size += this.buffer.length;
    if (size > MAX_SIZE) {
      if (needed > MAX_SIZE) throw new Error(`Max buffer size is ${MAX_SIZE} bytes, requested buffer size: ${size}`);
      size = MAX_SIZE;
    }
    const grown = Buffer.allocUnsafe(size);
    this.buffer.copy(grown, 0, 0, this.position);
    this.buffer = grown;
  }

  /**
   * Writes text as UTF-8 (a JS string's UTF-8 takes at most 3 bytes a code unit). Short ASCII
   * text, nearly all of a row, is copied a character at a time: cheaper than Buffer.write's call
   * into C++ (~25 of them a trade).
   */
  private text(value: string): void {
    const length = value.length;
    this.room(length * 3);
    if (length <= ASCII_LOOP_MAX) {
      const buffer = this.buffer;
      const start = this.position;
      let i = 0;
      for (; i < length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[start + i] = code;
      }
      if (i === length) {
        this.position = start + length;
        return;
      }
    }
    this.position += this.buffer.write(value, this.position, "utf8");
  }

  private startNewRow(): void {
    this.endOfLastRow = this.position;
    this.hasTable = false;
    this.hasSymbols = false;
    this.hasColumns = false;
  }

  table(table: string): this {
    if (typeof table !== "string") throw new Error(`Table name must be a string, received ${typeof table}`);
    if (this.hasTable) throw new Error("Table name has already been set");
    this.text(checkedTable(table));
    this.hasTable = true;
    return this;
  }

  symbol(name: string, value: unknown): this {
    if (typeof name !== "string") throw new Error(`Symbol name must be a string, received ${typeof name}`);
    if (!this.hasTable || this.hasColumns) {
      throw new Error("Symbol can be added only after table name is set and before any column added");
    }
    const valueText = (value as { toString(): string }).toString();
    this.text(checkedColumn(name).afterComma);
    this.text(escapeUnquoted(valueText));
    this.hasSymbols = true;
    return this;
  }

  /** The column's name and `=`, after a space (the first column) or a comma. */
  private column(name: string, value: unknown, valueType: string | undefined): void {
    if (typeof name !== "string") throw new Error(`Column name must be a string, received ${typeof name}`);
    if (valueType && typeof value !== valueType) {
      throw new Error(`Column value must be of type ${valueType}, received ${typeof value}`);
    }
    if (!this.hasTable) throw new Error("Column can be set only after table name is set");
    const text = checkedColumn(name);
    this.text(this.hasColumns ? text.afterComma : text.afterSpace);
    this.hasColumns = true;
  }

  stringColumn(name: string, value: string): this {
    this.column(name, value, "string");
    this.text(`"${escapeQuoted(value)}"`);
    return this;
  }

  booleanColumn(name: string, value: boolean): this {
    this.column(name, value, "boolean");
    this.text(value ? "t" : "f");
    return this;
  }

  floatColumn(name: string, value: number): this {
    this.column(name, value, "number");
    this.room(10);
    this.buffer[this.position++] = EQUALS;
    this.buffer[this.position++] = ENTITY_TYPE_DOUBLE;
    this.position = this.buffer.writeDoubleLE(value, this.position);
    return this;
  }

  intColumn(name: string, value: number): this {
    if (!Number.isInteger(value)) throw new Error(`Value must be an integer, received ${value}`);
    this.column(name, value, undefined);
    this.text(`${value}i`);
    return this;
  }

  timestampColumn(name: string, value: number | bigint, unit: TimestampUnit = "us"): this {
    if (typeof value !== "bigint" && !Number.isInteger(value)) {
      throw new Error(`Timestamp value must be an integer or BigInt, received ${value}`);
    }
    if (unit === "ns" && typeof value !== "bigint") {
      throw new Error("Timestamp value must be a BigInt if it is set in nanoseconds");
    }
    this.column(name, value, undefined);
    this.text(this.timestamp(value, unit));
    return this;
  }

  /** protocol v2: nanoseconds with an `n`, anything else as microseconds with a `t`. */
  private timestamp(value: number | bigint, unit: TimestampUnit): string {
    return unit === "ns" ? `${BigInt(value)}n` : `${micros(value, unit)}t`;
  }

  at(timestamp: number | bigint, unit: TimestampUnit = "us"): void {
    if (!this.hasSymbols && !this.hasColumns) {
      throw new Error("The row must have a symbol or column set before it is closed");
    }
    if (typeof timestamp !== "bigint" && !Number.isInteger(timestamp)) {
      throw new Error(`Designated timestamp must be an integer or BigInt, received ${timestamp}`);
    }
    if (unit === "ns" && typeof timestamp !== "bigint") {
      throw new Error("Designated timestamp must be a BigInt if it is set in nanoseconds");
    }
    this.text(` ${this.timestamp(timestamp, unit)}\n`);
    this.startNewRow();
  }

  atNow(): void {
    if (!this.hasSymbols && !this.hasColumns) {
      throw new Error("The row must have a symbol or column set before it is closed");
    }
    this.text("\n");
    this.startNewRow();
  }

  currentPosition(): number {
    return this.position;
  }

  toBufferNew(): Buffer | null {
    const end = this.endOfLastRow;
    if (end === 0) return null;
    const data = Buffer.allocUnsafe(end);
    this.buffer.copy(data, 0, 0, end);
    // What follows the last finished row (an unfinished one) moves to the front.
    this.buffer.copy(this.buffer, 0, end, this.position);
    this.position -= end;
    this.endOfLastRow = 0;
    return data;
  }

  reset(): this {
    this.position = 0;
    this.startNewRow();
    return this;
  }
}
