// What every record* mutation shares: validation of the whole request before anything is
// queued, the durability choice, and the answer.
import type { InputObjectRef } from "@pothos/core";
import type { Context } from "../context.ts";
import { clientError, InvalidInputError } from "../errors.ts";
import type { QueuedRow } from "../ingest/batch-writer.ts";
import type { FieldProblem, ValidationLimits } from "../ingest/validation.ts";
import type { TableNames } from "../questdb/tables.ts";
import { builder } from "./builder.ts";
import { toClientError } from "./errors.ts";

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
      description: "Each row's idempotency key, in request order; send the same key again to retry safely.",
    }),
    durability: t.field({ type: DurabilityEnum, resolve: (r) => r.durability }),
    commitLatencyMs: t.exposeFloat("commitLatencyMs", {
      nullable: true,
      description: "With COMMITTED: ms from acceptance to QuestDB's acknowledgement.",
    }),
  }),
});

export interface RecordSpec<Input, Row> {
  /** GraphQL argument name, for error paths. */
  argument: string;
  list: boolean;
  validate: (input: Input, index: number, limits: ValidationLimits) => { row: Row; problems: FieldProblem[] };
  toQueued: (row: Row, tables: TableNames) => QueuedRow;
  id: (row: Row) => string;
}

export async function recordRows<Input, Row>(
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
  const problems: FieldProblem[] = [];
  const rows: Row[] = [];
  inputs.forEach((input, index) => {
    const checked = spec.validate(input, index, services.limits);
    problems.push(...checked.problems);
    rows.push(checked.row);
  });
  if (problems.length > 0) throw new InvalidInputError(spec.argument, problems, spec.list);

  let ticket: ReturnType<typeof services.writer.enqueue>;
  try {
    ticket = services.writer.enqueue(rows.map((row) => spec.toQueued(row, services.tables)));
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
  return { accepted: ticket.rows, ids: rows.map(spec.id), durability, commitLatencyMs };
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * Defines a record type's two mutations: `one(input, durability)` and `many(inputs, durability)`,
 * the second all-or-nothing.
 */
export function defineRecordMutations<Input extends object, Row>(options: {
  one: string;
  many: string;
  /** What the rows are, for the descriptions: "trades", "latency measurements". */
  what: string;
  input: InputObjectRef<Types, Input>;
  spec: Omit<RecordSpec<Input, Row>, "argument" | "list">;
}): void {
  const one: RecordSpec<Input, Row> = { ...options.spec, argument: "input", list: false };
  const many: RecordSpec<Input, Row> = { ...options.spec, argument: "inputs", list: true };
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
