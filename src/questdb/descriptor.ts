// One descriptor per table: each domain field with its column (name, QuestDB type, nullable).
// The DDL (questdb/tables.ts), the ILP encoder, the SELECT list, the row type and the row → domain
// mapper are derived from it, so a table's columns are written once (issue 13).
import type { IlpBuffer } from "./ilp-buffer.ts";

export type ColumnType = "TIMESTAMP" | "SYMBOL" | "VARCHAR" | "DOUBLE" | "LONG" | "INT" | "BOOLEAN";

/** Designated timestamp column of every table. */
export const TIMESTAMP_COLUMN = "timestamp";

/**
 * The name of the API key that wrote a row (a SYMBOL: few distinct values). It is part of the
 * row's identity in the tables bots write, so one key can never replace another key's row; rows
 * written before the column existed hold NULL.
 */
export const WRITER_COLUMN = "writer";

/** The TypeScript value of each QuestDB type, as the pg type parsers (questdb/pg-pool.ts) read it. */
interface ValueOfType {
  TIMESTAMP: bigint;
  SYMBOL: string;
  VARCHAR: string;
  DOUBLE: number;
  LONG: bigint;
  INT: number;
  BOOLEAN: boolean;
}

export interface Column<Name extends string = string, Type extends ColumnType = ColumnType, Value = unknown> {
  readonly name: Name;
  readonly type: Type;
  /** Absent values are NULL: omitted from the ILP row, `null` in the domain object. */
  readonly nullable: boolean;
  /** Only carries the value type (e.g. a SYMBOL's closed set of values); never set. */
  readonly value?: Value;
}

type Nullable<C extends Column> = C & { readonly nullable: true };

const ofType =
  <Type extends ColumnType>(type: Type) =>
  <const Name extends string>(name: Name): Column<Name, Type, ValueOfType[Type]> => ({ name, type, nullable: false });

/** Column builders for descriptors: `c.symbol("venue")`, `c.nullable(c.long("slot"))`. */
export const column = {
  timestamp: ofType("TIMESTAMP"),
  varchar: ofType("VARCHAR"),
  double: ofType("DOUBLE"),
  long: ofType("LONG"),
  int: ofType("INT"),
  boolean: ofType("BOOLEAN"),
  /** A SYMBOL; with `values`, its domain type is that closed set (read back as one of them, unchecked). */
  symbol: <const Name extends string, const Value extends string = string>(
    name: Name,
    _values?: readonly Value[],
  ): Column<Name, "SYMBOL", Value> => ({ name, type: "SYMBOL", nullable: false }),
  nullable: <C extends Column>(c: C): Nullable<C> => ({ ...c, nullable: true }),
};

/** Domain field name → column. */
export type Fields = Readonly<Record<string, Column>>;

type ValueOf<C> = C extends Column<string, ColumnType, infer V> ? (C extends { nullable: true } ? V | null : V) : never;

/** The domain object of a descriptor: each field's value, `null` where the column is nullable. */
export type DomainOf<F extends Fields> = { -readonly [K in keyof F]: ValueOf<F[K]> };

/**
 * A row as pg returns it for `SELECT ${select}`: keyed by column name. A LONG reads NULL where a
 * row predates the column (or QuestDB's LONG null), hence `| null` even on a required one.
 */
export type RowOf<F extends Fields> = {
  [K in keyof F as F[K]["name"]]: F[K]["type"] extends "LONG" ? ValueOf<F[K]> | null : ValueOf<F[K]>;
};

export type TableKey =
  | "trades"
  | "latency_metrics"
  | "mev_metrics"
  | "system_metrics"
  | "alert_events"
  | "alert_rules"
  | "api_instances"
  | "drawdown_hours";

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

export interface TableSpec {
  /** Logical name; the physical name is the configured prefix plus this. */
  readonly name: TableKey;
  /** In CREATE TABLE order; the first is the designated timestamp. */
  readonly columns: readonly ColumnSpec[];
  /** The row's identity besides the timestamp: DEDUP UPSERT KEYS(timestamp, ...dedupKeys). */
  readonly dedupKeys: readonly string[];
  /** false: kept whatever RETENTION_DAYS says (no TTL), e.g. configuration such as alert rules. */
  readonly retention?: false;
}

export interface TableDescriptor<F extends Fields> extends TableSpec {
  readonly fields: F;
  /** The columns in field order, for `SELECT ${select} FROM …`. */
  readonly select: string;
  /** Appends one row (ending with `at()`) to an ILP buffer. */
  readonly encode: (buffer: IlpBuffer, table: string, row: DomainOf<F>) => void;
  /** A row of `SELECT ${select}` as its domain object. */
  readonly fromRow: (row: RowOf<F>) => DomainOf<F>;
}

export function defineTable<const F extends Fields>(
  spec: Omit<TableSpec, "columns"> & { fields: F },
): TableDescriptor<F> {
  const entries = Object.entries(spec.fields) as [string, Column][];
  const designated = entries.find(([, c]) => c.name === TIMESTAMP_COLUMN);
  if (designated?.[1].type !== "TIMESTAMP" || designated[1].nullable) {
    throw new Error(`table ${spec.name}: a required TIMESTAMP column named ${TIMESTAMP_COLUMN} is missing`);
  }
  return {
    name: spec.name,
    dedupKeys: spec.dedupKeys,
    ...(spec.retention === false && { retention: false }),
    fields: spec.fields,
    columns: entries.map(([, { name, type }]) => ({ name, type })),
    select: entries.map(([, c]) => c.name).join(", "),
    encode: createEncoder(entries, designated[0]),
    fromRow: createMapper(entries) as TableDescriptor<F>["fromRow"],
  };
}

type Row = Record<string, unknown>;
type Step = (buffer: IlpBuffer, row: Row) => void;

/**
 * The ILP encoder, built once per table. ILP wants symbols before the other columns; within
 * each, required columns come first, then (for symbols) the writer, then nullable ones, each in
 * field order: the order the hand-written encoders used, so the bytes did not change.
 */
function createEncoder(
  entries: readonly [string, Column][],
  designatedField: string,
): (buffer: IlpBuffer, table: string, row: object) => void {
  const rank = ([, c]: [string, Column]) =>
    (c.type === "SYMBOL" ? 0 : 3) + (c.nullable ? (c.name === WRITER_COLUMN ? 1 : 2) : 0);
  const steps = entries
    .filter(([field]) => field !== designatedField)
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => rank(a.entry) - rank(b.entry) || a.i - b.i)
    .map(({ entry: [field, c] }) => step(field, c));
  return (buffer, table, row) => {
    buffer.table(table);
    for (const s of steps) s(buffer, row as Row);
    buffer.at((row as Row)[designatedField] as bigint, "us");
  };
}

type Write = (buffer: IlpBuffer, name: string, value: never) => void;

/** How each type is written; the client writes integers from numbers, as it always did here. */
const WRITE: Record<ColumnType, Write> = {
  SYMBOL: (b, name, v: string) => void b.symbol(name, v),
  VARCHAR: (b, name, v: string) => void b.stringColumn(name, v),
  DOUBLE: (b, name, v: number) => void b.floatColumn(name, v),
  LONG: (b, name, v: bigint) => void b.intColumn(name, Number(v)),
  INT: (b, name, v: number) => void b.intColumn(name, v),
  BOOLEAN: (b, name, v: boolean) => void b.booleanColumn(name, v),
  TIMESTAMP: (b, name, v: bigint) => void b.timestampColumn(name, v, "us"),
};

function step(field: string, { name, type, nullable }: Column): Step {
  const write = WRITE[type];
  if (!nullable) return (buffer, row) => write(buffer, name, row[field] as never);
  return (buffer, row) => {
    const value = row[field];
    if (value !== null) write(buffer, name, value as never);
  };
}

/** Copies each column into its field; a required LONG read as NULL becomes 0n. */
function createMapper(entries: readonly [string, Column][]): (row: Row) => Row {
  return (row) => {
    const out: Row = {};
    for (const [field, c] of entries) {
      const value = row[c.name];
      out[field] = value === null && c.type === "LONG" && !c.nullable ? 0n : value;
    }
    return out;
  };
}
