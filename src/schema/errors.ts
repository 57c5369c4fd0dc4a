// The batch writer's failures as client errors (codes from src/errors.ts); anything else is
// rethrown and masked by Yoga as "Unexpected error.".
import { clientError } from "../errors.ts";
import { QueueFullError, RowsRejectedError, WriterClosedError } from "../ingest/batch-writer.ts";

/**
 * Maps the writer's failures to client-facing errors. QuestDB's refusal reason and the
 * dead-letter file stay in the server's log and the dead-letter line (README, "What the write
 * path promises"): a client gets a stable message, never QuestDB's text or a server path.
 */
export function toClientError(error: unknown): never {
  if (error instanceof QueueFullError) throw clientError("QUEUE_FULL", error.message, { retryable: true });
  if (error instanceof WriterClosedError) throw clientError("SHUTTING_DOWN", error.message, { retryable: true });
  if (error instanceof RowsRejectedError) {
    throw clientError(
      "ROWS_REJECTED",
      "QuestDB refused the rows, so they were not recorded; the server kept them in its dead-letter folder and logged the reason for an operator. Sending the same rows again will be refused again.",
      { retryable: false },
    );
  }
  throw error;
}
