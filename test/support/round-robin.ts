// Several API instances behind a round-robin client, as a fleet of bots would run them (issue 15):
// each request goes to the next instance in turn; a connection error (an instance killed or
// restarting) sends the same body to the next instance at once, and a retryable answer
// (extensions.retryable, HTTP 503 or 429) sends it again after a backoff. A body is built once,
// so a retry carries the same idempotency keys and timestamps: with the writer (the key's name,
// the same on every instance) they are the row's identity, and any instance stores it once.
import { formatIsoMicros, nowMicros } from "../../src/time.ts";
import { makeTrade } from "./load.ts";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; retryable?: boolean } }[];
}

export interface RoundRobinClient {
  readonly urls: readonly string[];
  /** Answers with data per instance (index into urls). */
  readonly answered: number[];
  /**
   * Sends one operation until an instance answers it with data: a connection error moves on to
   * the next instance at once (with a backoff once every instance failed in a row), a retryable
   * refusal backs off. Throws on a non-retryable error, or after `patienceMs` (default 60 s).
   * `onRetry` hears why each attempt failed.
   */
  send<T>(
    query: string,
    variables: unknown,
    options?: { patienceMs?: number; onRetry?: (why: string) => void },
  ): Promise<{ data: T; instance: number }>;
}

/** A round-robin client over `urls` (http://host:port), sending `headers` with every request. */
export function createRoundRobin(urls: readonly string[], headers: Record<string, string> = {}): RoundRobinClient {
  let turn = 0;
  const answered = urls.map(() => 0);
  return {
    urls,
    answered,
    async send<T>(
      query: string,
      variables: unknown,
      options: { patienceMs?: number; onRetry?: (why: string) => void } = {},
    ) {
      const { patienceMs = 60_000, onRetry } = options;
      const body = JSON.stringify({ query, variables });
      const deadline = Date.now() + patienceMs;
      let delay = 50;
      let refusedInARow = 0;
      for (;;) {
        const instance = turn++ % urls.length;
        let why: string;
        let backoff = true;
        try {
          const response = await fetch(`${urls[instance]}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body,
          });
          const answer = (await response.json()) as GraphQLAnswer<T>;
          const [error] = answer.errors ?? [];
          if (!error && answer.data) {
            answered[instance] = (answered[instance] ?? 0) + 1;
            return { data: answer.data, instance };
          }
          why = error?.extensions?.code ?? `HTTP ${response.status}`;
          if (!(error?.extensions?.retryable || response.status === 503 || response.status === 429)) {
            throw new Error(`${why}: ${error?.message}`);
          }
          refusedInARow = 0;
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          // fetch's TypeError: no answer (refused, reset, closed mid-response). Next instance.
          const cause = (error as TypeError & { cause?: { code?: string } }).cause;
          why = `network: ${cause?.code ?? error.message}`;
          backoff = ++refusedInARow >= urls.length;
          if (backoff) refusedInARow = 0;
        }
        onRetry?.(why);
        if (Date.now() > deadline) throw new Error(`gave up after ${patienceMs} ms (${why})`);
        if (backoff) {
          await sleep(delay * (0.5 + Math.random()));
          delay = Math.min(delay * 2, 1_000);
        }
      }
    },
  };
}

/** A trade as a bot sent it and the fleet acknowledged it. */
export interface SentTrade {
  tradeId: string;
  /** Its timestamp (µs): the bot's clock when the batch was made. */
  ts: bigint;
  /** performance.now() when the batch was first sent, and when it was acknowledged. */
  sentAt: number;
  ackAt: number;
  /** The instance that acknowledged it (index into the client's urls). */
  instance: number;
  durability: "QUEUED" | "COMMITTED";
}

export interface FleetLedger {
  /** Acknowledged trades by tradeId. */
  acked: Map<string, SentTrade>;
  /** Why attempts failed (then the batch was sent again), with counts. */
  retried: Map<string, number>;
  /** Batches given up on (a test expects none). */
  failures: string[];
}

const RECORD_TRADES =
  "mutation($inputs: [TradeInput!]!, $d: Durability!) { recordTrades(inputs: $inputs, durability: $d) { ids } }";

/**
 * `bots` concurrent bots send `total` trades through `client`, in batches of 1 to `maxBatch`
 * (random), each trade with its id (`<prefix>-<n>`) and a timestamp from the bot's clock when the
 * batch was made (1 µs apart within it). `onProgress` sees the acknowledged count after every
 * answer.
 */
export async function roundRobinBots(options: {
  client: RoundRobinClient;
  prefix: string;
  total: number;
  bots: number;
  maxBatch: number;
  durability: "QUEUED" | "COMMITTED";
  patienceMs?: number;
  onProgress?: (acked: number) => void;
}): Promise<FleetLedger> {
  const { client, prefix, total, bots, maxBatch, durability, patienceMs, onProgress } = options;
  const ledger: FleetLedger = { acked: new Map(), retried: new Map(), failures: [] };
  const onRetry = (why: string) => ledger.retried.set(why, (ledger.retried.get(why) ?? 0) + 1);
  let next = 0;
  const bot = async () => {
    while (next < total) {
      const start = next;
      next = Math.min(total, next + 1 + Math.floor(Math.random() * maxBatch));
      const ts = nowMicros();
      const batch = Array.from({ length: next - start }, (_, i) => ({
        tradeId: `${prefix}-${start + i}`,
        ts: ts + BigInt(i),
      }));
      const inputs = batch.map((t) => makeTrade(t.tradeId, formatIsoMicros(t.ts)));
      const sentAt = performance.now();
      try {
        const { data, instance } = await client.send<{ recordTrades: { ids: string[] } }>(
          RECORD_TRADES,
          { inputs, d: durability },
          { onRetry, ...(patienceMs === undefined ? {} : { patienceMs }) },
        );
        const ackAt = performance.now();
        const ids = new Set(data.recordTrades.ids);
        for (const t of batch) {
          if (ids.has(t.tradeId)) ledger.acked.set(t.tradeId, { ...t, sentAt, ackAt, instance, durability });
        }
      } catch (error) {
        ledger.failures.push((error as Error).message);
      }
      onProgress?.(ledger.acked.size);
    }
  };
  await Promise.all(Array.from({ length: bots }, bot));
  return ledger;
}
