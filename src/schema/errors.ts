// Expected client errors are GraphQLErrors with extensions.code (Yoga masks everything else).
import { GraphQLError } from "graphql";
import { QueueFullError, RowsRejectedError, WriterClosedError } from "../ingest/batch-writer.ts";
import type { FieldProblem } from "../ingest/validation.ts";

export class InvalidInputError extends GraphQLError {
  constructor(argument: string, problems: readonly FieldProblem[], list: boolean) {
    const where = (p: FieldProblem) => (list ? `${argument}[${p.index}].${p.field}` : `${argument}.${p.field}`);
    const summary = problems
      .slice(0, 20)
      .map((p) => `${where(p)} ${p.reason}`)
      .join("; ");
    const more = problems.length > 20 ? `; and ${problems.length - 20} more (see extensions.problems)` : "";
    super(`Invalid input, nothing was recorded: ${summary}${more}`, {
      extensions: { code: "BAD_USER_INPUT", problems: problems.map((p) => ({ ...p, path: where(p) })) },
    });
  }
}

/** Maps the writer's failures to client-facing errors; anything else is rethrown (masked). */
export function toClientError(error: unknown): never {
  if (error instanceof QueueFullError) {
    throw new GraphQLError(error.message, { extensions: { code: "QUEUE_FULL", retryable: true } });
  }
  if (error instanceof WriterClosedError) {
    throw new GraphQLError(error.message, { extensions: { code: "SHUTTING_DOWN", retryable: true } });
  }
  if (error instanceof RowsRejectedError) {
    throw new GraphQLError(`QuestDB refused the rows: ${error.reason}`, {
      extensions: { code: "ROWS_REJECTED", retryable: false },
    });
  }
  throw error;
}
