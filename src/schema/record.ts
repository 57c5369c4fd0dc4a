// What every record* mutation shares: validation of the whole request before anything is
// queued, the durability choice, and the answer.
import { GraphQLError } from "graphql";
import type { Context } from "../context.ts";
import type { QueuedRow } from "../ingest/batch-writer.ts";
import type { FieldProblem, ValidationLimits } from "../ingest/validation.ts";
import type { TableNames } from "../questdb/tables.ts";
import { builder } from "./builder.ts";
import { InvalidInputError, toClientError } from "./errors.ts";

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
    throw new GraphQLError(
      `Invalid input, nothing was recorded: ${spec.argument} has ${inputs.length} items; at most ${services.maxRecordsPerRequest} are accepted per request (MAX_RECORDS_PER_REQUEST)`,
      { extensions: { code: "BAD_USER_INPUT" } },
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
