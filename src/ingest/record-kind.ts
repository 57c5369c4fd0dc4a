// What the record* mutations need of each kind of row: its validation, the table descriptor it is
// written with, and its idempotency key. schema/record.ts only declares the GraphQL side.

import type { TableKey } from "../questdb/descriptor.ts";
import type { IlpBuffer } from "../questdb/ilp-buffer.ts";
import type { TableNames } from "../questdb/tables.ts";
import type { QueuedRow } from "./encoded-rows.ts";
import type { FieldProblem, ValidationLimits } from "./validation.ts";

/** A stored row: the validated values plus the writer (null only for rows older than writers). */
export interface Written {
  writer: string | null;
}

export interface RecordKind<Input, Row extends Written> {
  /** The row without its writer: the request's key sets that, never the input. */
  validate: (
    input: Input,
    index: number,
    limits: ValidationLimits,
  ) => { row: Omit<Row, "writer">; problems: FieldProblem[] };
  /** The table descriptor rows are written with (questdb/*-table.ts). */
  table: { readonly name: TableKey; readonly encode: (buffer: IlpBuffer, table: string, row: Row) => void };
  id: (row: Row) => string;
}

/** The rows as the batch writer queues them, into this deployment's table of their kind. */
export function queuedRows<Row extends Written>(
  kind: RecordKind<never, Row>,
  rows: readonly Row[],
  tables: TableNames,
): QueuedRow[] {
  const table = tables[kind.table.name];
  const { encode } = kind.table;
  return rows.map((row) => ({ table, encode: (buffer) => encode(buffer, table, row) }));
}
