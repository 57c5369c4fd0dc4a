// What every record* mutation shares: validation of the whole request before anything is
// queued, the durability choice, and the answer.
import type { InputObjectRef } from "@pothos/core";
import type { Context } from "../context.ts";
import { clientError, InvalidInputError } from "../errors.ts";
import { OPEN_CALLER } from "../guard/keys.ts";
import { encodeRowsInSlices } from "../ingest/encoded-rows.ts";
import { queuedRows, type RecordKind, type Written } from "../ingest/record-kind.ts";
import type { FieldProblem } from "../ingest/validation.ts";
import { builder } from "./builder.ts";
import { toClientError } from "./errors.ts";

/** The `writer` field of the recorded types. */
export const WRITER_DESCRIPTION =
  'The name of the API key that recorded it ("anonymous" when the server runs without keys). With the timestamp and the idempotency key it is the row\'s identity: what another key sends with the same timestamp and key is a row of its own, never a replacement. Null for rows recorded before writers were stored.';

export const DURABILITIES = ["QUEUED", "COMMITTED"] as const;
export type Durability = (typeof DURABILITIES)[number];

export const DurabilityEnum = builder.enumType("Durability", {
  description: "When a record* mutation answers.",
  values: {
    QUEUED: {
      description: "Once the rows are validated and queued in the server (at most one batch interval from QuestDB).",
    },
    COMMITTED: { description: "Once QuestDB has acknowledged the flush that holds every row (committed to its WAL)." },
  } as const,
});

export interface RecordResult {
  accepted: number;
  ids: string[];
  durability: Durability;
  commitLatencyMs: number | null;
}

export const RecordResultRef = builder.objectRef<RecordResult>("RecordResult").implement({
  description: "The answer of a record* mutation.",
  fields: (t) => ({
    accepted: t.exposeInt("accepted", { description: "Rows accepted (all of the request, or an error)." }),
    ids: t.exposeStringList("ids", {
      description:
        "Each row's idempotency key, in request order; send the same key again (with the same API key) to retry safely.",
    }),
    durability: t.field({ type: DurabilityEnum, resolve: (r) => r.durability }),
    commitLatencyMs: t.exposeFloat("commitLatencyMs", {
      nullable: true,
      description: "With COMMITTED: ms from acceptance to QuestDB's acknowledgement.",
    }),
  }),
});

/**
 * The name of the API key behind the request: stored in each row's `writer` column, part of the
 * row's identity. "anonymous" when the server runs without keys.
 */
export function writerOf(context: Context): string {
  // The key's configured name (guard/keys.ts); every request has a caller once admitted.
  return context.caller?.name ?? OPEN_CALLER.name;
}

export interface RecordSpec<Input, Row extends Written> {
  /** GraphQL argument name, for error paths. */
  argument: string;
  list: boolean;
  kind: RecordKind<Input, Row>;
}

export async function recordRows<Input, Row extends Written>(
  context: Context,
  spec: RecordSpec<Input, Row>,
  inputs: readonly Input[],
  durability: Durability,
): Promise<RecordResult> {
  const { services } = context;
  if (inputs.length > services.maxRecordsPerRequest) {
    throw clientError(
      "BAD_USER_INPUT",
      `Invalid input, nothing was recorded: ${spec.argument} has ${inputs.length} items; at most ${services.maxRecordsPerRequest} are accepted per request (MAX_RECORDS_PER_REQUEST)`,
      { field: spec.argument },
    );
  }
  const writer = writerOf(context);
  const problems: FieldProblem[] = [];
  const rows: Row[] = [];
  inputs.forEach((input, index) => {
    const checked = spec.kind.validate(input, index, services.limits);
    if (checked.problems.length > 0) problems.push(...checked.problems);
    // The validator's row is a fresh object of its own: the writer is set on it rather than on a
    // copy (a copy a row was ~1 µs and its garbage). TypeScript cannot see that Omit<Row,
    // "writer"> plus a writer is a Row for a generic Row.
    const row = checked.row as Row;
    row.writer = writer;
    rows.push(row);
  });
  if (problems.length > 0) throw new InvalidInputError(spec.argument, problems, spec.list);

  let ticket: Awaited<ReturnType<typeof services.sink.enqueueEncoded>>;
  try {
    // Encoded here (in a write worker, or on the main thread a slice per turn of the event
    // loop), then queued all or none.
    const queued = queuedRows(spec.kind, rows, services.tables);
    ticket = await services.sink.enqueueEncoded(await encodeRowsInSlices(queued, services.newIlpBuffer));
  } catch (error) {
    toClientError(error);
  }
  let commitLatencyMs: number | null = null;
  if (durability === "COMMITTED") {
    try {
      commitLatencyMs = await ticket.committed;
    } catch (error) {
      toClientError(error);
    }
  }
  return { accepted: ticket.rows, ids: rows.map(spec.kind.id), durability, commitLatencyMs };
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * Defines a record type's two mutations: `one(input, durability)` and `many(inputs, durability)`,
 * the second all-or-nothing.
 */
export function defineRecordMutations<Input extends object, Row extends Written>(options: {
  one: string;
  many: string;
  /** What the rows are, for the descriptions: "trades", "latency measurements". */
  what: string;
  input: InputObjectRef<Types, Input>;
  kind: RecordKind<Input, Row>;
}): void {
  const one: RecordSpec<Input, Row> = { kind: options.kind, argument: "input", list: false };
  const many: RecordSpec<Input, Row> = { kind: options.kind, argument: "inputs", list: true };
  builder.mutationFields((t) => ({
    [options.one]: t.field({
      type: RecordResultRef,
      description: `Records one of the ${options.what}; written to QuestDB in the next batch (every BATCH_INTERVAL_MS).`,
      args: {
        input: t.arg({ type: options.input, required: true }),
        durability: t.arg({ type: DurabilityEnum, required: true, defaultValue: "QUEUED" }),
      },
      // Pothos cannot narrow args through the generic input ref; the shape is the one above.
      resolve: (_root, args, context) => {
        const { input, durability } = args as unknown as { input: Input; durability: Durability };
        return recordRows(context, one, [input], durability);
      },
    }),
    [options.many]: t.field({
      type: RecordResultRef,
      description: `Records many ${options.what}: all or, if any is invalid, none.`,
      args: {
        inputs: t.arg({ type: [options.input], required: true }),
        durability: t.arg({ type: DurabilityEnum, required: true, defaultValue: "QUEUED" }),
      },
      resolve: (_root, args, context) => {
        const { inputs, durability } = args as unknown as { inputs: Input[]; durability: Durability };
        return recordRows(context, many, inputs, durability);
      },
    }),
  }));
}
