// The alert events other instances raise, for this instance's `alerts` subscribers (issue 15):
// those this instance raises reach its subscribers as it raises them (AlertEngine.listen); the
// others' are read from alert_events, from the subscription's start on, each once. A row can
// become visible after a newer one (two instances' flushes commit in either order), so every
// poll reads back `lateMs` behind the newest event seen and skips the ids already delivered.
import type { Micros } from "../time.ts";
import type { AlertEvent } from "./alerts.ts";

export type EventsOfOthers = (since: Micros, limit: number) => Promise<AlertEvent[]>;

export interface AlertStream {
  /** The events not delivered yet, oldest first. */
  next(): Promise<AlertEvent[]>;
  /** Whether the last poll filled its page (poll again at once). */
  more(): boolean;
}

export function createAlertStream(
  read: EventsOfOthers,
  options: { lateMs: number; startAt: Micros; page?: number },
): AlertStream {
  const { startAt, page = 1_000 } = options;
  const late = BigInt(options.lateMs) * 1_000n;
  let newest = startAt;
  /** A full page: the next poll goes on from its last row rather than `late` behind. */
  let resumeAt: Micros | undefined;
  let full = false;
  const delivered = new Map<string, Micros>();

  return {
    async next() {
      const lowest = newest - late > startAt ? newest - late : startAt;
      const rows = await read(resumeAt ?? lowest, page);
      full = rows.length === page;
      resumeAt = full ? rows[rows.length - 1]?.at : undefined;
      const fresh = rows.filter((event) => !delivered.has(event.eventId));
      for (const event of fresh) {
        delivered.set(event.eventId, event.at);
        if (event.at > newest) newest = event.at;
      }
      // An id is remembered while a poll can still read its row.
      for (const [id, at] of delivered) if (at < newest - late) delivered.delete(id);
      return fresh;
    },
    more: () => full,
  };
}
