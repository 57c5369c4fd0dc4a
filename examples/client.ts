// A minimal typed GraphQL client for the examples: POSTs a typed document (from
// examples/generated/graphql.ts) with its variables and returns its typed data. Errors marked
// `extensions.retryable` (QUEUE_FULL, OVERLOADED, SHUTTING_DOWN; HTTP 429/503) are retried after
// the server's Retry-After or an exponential backoff with jitter; any other error is thrown.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

export interface ClientOptions {
  /** The API's base URL, e.g. http://127.0.0.1:4000. */
  url: string;
  /** The API key (`Authorization: Bearer`), when the server requires one. */
  apiKey?: string | undefined;
  /** Attempts for a retryable refusal before giving up. Default 10. */
  attempts?: number;
  /** Told about each retry. Default: nothing. */
  onRetry?: (reason: string, waitMs: number) => void;
}

interface GraphQLErrorJson {
  message: string;
  extensions?: { code?: string; retryable?: boolean; retryAfterMs?: number };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function createClient(options: ClientOptions) {
  const { url, apiKey, attempts = 10, onRetry = () => {} } = options;
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  return async function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    const body = JSON.stringify({ query: print(document), variables });
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let waitMs: number | undefined;
      try {
        const response = await fetch(`${url}/graphql`, { method: "POST", headers, body });
        const answer = (await response.json()) as { data?: R; errors?: GraphQLErrorJson[] };
        const error = answer.errors?.[0];
        if (!error && answer.data) return answer.data;
        const retryable = error?.extensions?.retryable === true || response.status === 429 || response.status === 503;
        if (!retryable) throw new ApiError(error?.message ?? `HTTP ${response.status}`, error?.extensions?.code);
        reason = `${error?.extensions?.code ?? response.status}: ${error?.message ?? ""}`;
        const header = Number(response.headers.get("retry-after"));
        waitMs = error?.extensions?.retryAfterMs ?? (header > 0 ? header * 1000 : undefined);
      } catch (error) {
        if (error instanceof ApiError) throw error;
        reason = error instanceof Error ? error.message : String(error); // network: retried too
      }
      if (attempt >= attempts) throw new Error(`Gave up after ${attempt} attempts: ${reason}`);
      const wait = waitMs ?? Math.random() * Math.min(10_000, 200 * 2 ** attempt);
      onRetry(reason, wait);
      await sleep(wait);
    }
  };
}
