// Load and fault helpers for ingestion tests: concurrent bot clients and a socket-cutting proxy.

import { connect, createServer, type Server, type Socket } from "node:net";
import { formatIsoMicros } from "../../src/time.ts";
import type { TradeInput } from "../generated/graphql.ts";
import { RecordTradesDocument } from "../generated/graphql.ts";
import { postGraphQL } from "./app.ts";

export function makeTrade(id: string, timestamp = new Date().toISOString()): TradeInput {
  return {
    tradeId: id,
    timestamp,
    action: "BUY",
    baseToken: "SOL",
    quoteToken: "USDC",
    baseAmount: 1,
    quoteAmount: 200,
    executedPrice: 200,
    transactionFee: 5000,
    priorityFee: 100,
    expectedSlippage: 0.01,
    actualSlippage: 0.001,
    mevStatus: "PROTECTED",
    transferFees: 0,
  };
}

export interface LoadResult {
  /** tradeIds the API acknowledged. */
  acked: string[];
  /** Requests that failed (network error or GraphQL error), with the reason. */
  failures: string[];
}

/**
 * `clients` concurrent bots send `total` trades in `batchSize` batches through recordTrades.
 * `onProgress` sees the acknowledged count after every answer.
 */
export async function sendTrades(options: {
  url: string;
  prefix: string;
  total: number;
  clients: number;
  batchSize: number;
  durability?: "QUEUED" | "COMMITTED";
  onProgress?: (acked: number) => void;
}): Promise<LoadResult> {
  const { url, prefix, total, clients, batchSize, durability = "QUEUED", onProgress } = options;
  const acked: string[] = [];
  const failures: string[] = [];
  let next = 0;
  const client = async () => {
    while (next < total) {
      const start = next;
      next = Math.min(total, next + batchSize);
      const inputs = Array.from({ length: next - start }, (_, i) => makeTrade(`${prefix}-${start + i}`));
      try {
        const result = await postGraphQL(url, RecordTradesDocument, { inputs, durability });
        if (result.errors) failures.push(result.errors.map((e) => e.message).join("; "));
        else acked.push(...(result.data?.recordTrades.ids ?? []));
      } catch (error) {
        failures.push(String(error));
      }
      onProgress?.(acked.length);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { acked, failures };
}

export interface CuttingProxy {
  port: number;
  /** Faults injected so far, by kind. */
  faults: { requestCut: number; responseCut: number };
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of QuestDB's HTTP port that kills connections mid-request: it cycles
 * through cutting the request halfway (QuestDB never sees it whole), cutting after the request
 * went through but before the response comes back (QuestDB committed, the client can't know),
 * and passing a connection through, until `maxFaults` faults have been injected.
 */
export async function startCuttingProxy(upstreamPort: number, maxFaults: number): Promise<CuttingProxy> {
  const faults = { requestCut: 0, responseCut: 0 };
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(upstreamPort, "127.0.0.1");
    sockets.add(client);
    sockets.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on("close", () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on("error", kill);
    upstream.on("error", kill);
    // Each request on a (keep-alive) connection gets the next fate in the cycle.
    let mode: "request" | "response" | "pass" = "pass";
    client.on("data", (chunk: Buffer) => {
      if (chunk.subarray(0, 5).toString() === "POST ") {
        const faulty = faults.requestCut + faults.responseCut < maxFaults;
        mode = faulty ? ((["request", "response", "pass"] as const)[requests++ % 3] ?? "pass") : "pass";
      }
      if (mode === "request" && chunk.length > 100) {
        faults.requestCut++;
        upstream.write(chunk.subarray(0, chunk.length >> 1), kill);
        mode = "pass";
        return;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (mode === "response") {
        faults.responseCut++;
        kill();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    faults,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

export interface Ledger {
  /** tradeIds the API acknowledged (each batch's once). */
  acked: Set<string>;
  /** Answers that made a bot send a batch again: retryable codes, HTTP statuses, network errors. */
  retried: Map<string, number>;
  /** Non-retryable refusals and batches given up on (a test expects none). */
  failures: string[];
}

/**
 * Bots as the README tells them to behave: `clients` of them send `total` trades in batches of
 * `batchSize`, each trade with its idempotency key and its own timestamp, and keep a ledger of
 * what was acknowledged. A retryable answer (extensions.retryable, HTTP 503, 429) or a network
 * error (the API killed or restarting) sends the same batch again, same keys and timestamps,
 * with backoff, for up to `patienceMs`. `onProgress` sees the acknowledged count after every answer.
 */
export async function ledgerBots(options: {
  url: string;
  prefix: string;
  total: number;
  clients: number;
  batchSize: number;
  /** Timestamps start here, 1 µs apart per trade. Default: 10 minutes ago. */
  startMs?: number;
  headers?: Record<string, string>;
  patienceMs?: number;
  onProgress?: (acked: number) => void;
}): Promise<Ledger> {
  const { url, prefix, total, clients, batchSize, headers = {}, patienceMs = 240_000, onProgress } = options;
  const startMicros = BigInt(options.startMs ?? Date.now() - 600_000) * 1000n;
  const ledger: Ledger = { acked: new Set(), retried: new Map(), failures: [] };
  const retried = (why: string) => ledger.retried.set(why, (ledger.retried.get(why) ?? 0) + 1);
  const query = "mutation($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs) { accepted ids } }";
  let next = 0;
  const client = async () => {
    while (next < total) {
      const start = next;
      next = Math.min(total, next + batchSize);
      const inputs = Array.from({ length: next - start }, (_, i) => {
        return makeTrade(`${prefix}-${start + i}`, formatIsoMicros(startMicros + BigInt(start + i)));
      });
      const body = JSON.stringify({ query, variables: { inputs } });
      const deadline = Date.now() + patienceMs;
      let delay = 50;
      for (;;) {
        let why: string;
        try {
          const response = await fetch(`${url}/graphql`, {
            method: "POST",
            headers: { "content-type": "application/json", ...headers },
            body,
          });
          const answer = (await response.json()) as {
            data?: { recordTrades: { ids: string[] } } | null;
            errors?: { message: string; extensions?: { code?: string; retryable?: boolean } }[];
          };
          const [error] = answer.errors ?? [];
          if (!error && answer.data) {
            for (const id of answer.data.recordTrades.ids) ledger.acked.add(id);
            break;
          }
          why = error?.extensions?.code ?? `HTTP ${response.status}`;
          if (!(error?.extensions?.retryable || response.status === 503 || response.status === 429)) {
            ledger.failures.push(`${why}: ${error?.message}`);
            break;
          }
        } catch (error) {
          why = `network: ${(error as Error & { cause?: { code?: string } }).cause?.code ?? (error as Error).message}`;
        }
        retried(why);
        if (Date.now() > deadline) {
          ledger.failures.push(`gave up on a batch after ${patienceMs} ms (${why})`);
          break;
        }
        await new Promise((done) => setTimeout(done, delay * (0.5 + Math.random())));
        delay = Math.min(delay * 2, 1_000);
      }
      onProgress?.(ledger.acked.size);
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return ledger;
}
