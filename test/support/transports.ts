// The three ways a client reaches the API, behind one function, so a test can assert that a
// stage of the request pipeline behaves the same on each: the lean POST path (JSON in and out,
// no Origin), Yoga's own handler (a POST that accepts application/graphql-response+json), and
// graphql-ws.
import { type Client, createClient } from "graphql-ws";
import { afterAll } from "vitest";
import WebSocket from "ws";

export const TRANSPORTS = ["lean", "yoga", "ws"] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface Outcome {
  /** HTTP status (HTTP transports). */
  status?: number;
  /** WebSocket close code, when the server closed the connection. */
  closeCode?: number;
  data?: unknown;
  errors?: { message: string; extensions?: Record<string, unknown> }[] | undefined;
  headers?: Headers;
}

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

export interface SendOptions {
  key?: string;
  headers?: Record<string, string>;
  /** Raw body for HTTP (overrides the JSON one). */
  body?: string;
}

/** Sends one operation and waits for its first answer (or the refusal). */
export async function send(
  url: string,
  transport: Transport,
  payload: { query: string; variables?: Record<string, unknown> },
  options: SendOptions = {},
): Promise<Outcome> {
  if (transport === "ws") return sendOverWs(url, payload, options.key);
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: transport === "lean" ? "application/json" : "application/graphql-response+json",
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...options.headers,
    },
    body: options.body ?? JSON.stringify(payload),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as Omit<Outcome, "status">;
  return { status: response.status, headers: response.headers, ...parsed };
}

/** A graphql-ws client that the test's afterAll disposes. */
export function wsClient(url: string, key?: string, onClosed?: (code: number) => void): Client {
  const client = createClient({
    url: `${url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => onClosed?.((event as { code: number }).code) },
  });
  clients.push(client);
  return client;
}

function sendOverWs(
  url: string,
  payload: { query: string; variables?: Record<string, unknown> },
  key: string | undefined,
): Promise<Outcome> {
  return new Promise((done) => {
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      stop();
      done(outcome);
    };
    const client = wsClient(url, key, (code) => settle({ closeCode: code }));
    const stop = client.subscribe(payload, {
      next: (value) =>
        settle({ data: value.data, ...(value.errors ? { errors: value.errors as Outcome["errors"] } : {}) }),
      error: (error) => {
        if (Array.isArray(error)) settle({ errors: error as Outcome["errors"] });
        else if (typeof (error as { code?: unknown }).code === "number")
          settle({ closeCode: (error as { code: number }).code });
        else settle({ errors: [{ message: String(error) }] });
      },
      complete: () => settle({}),
    });
  });
}

/** The upgrade's HTTP answer when the server refuses a WebSocket before it opens. */
export function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((done, fail) => {
    const socket = new WebSocket(`${url.replace("http", "ws")}/graphql`, "graphql-transport-ws", { headers });
    socket.on("unexpected-response", (_request, response) => {
      done(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.on("open", () => {
      done(101);
      socket.close();
    });
    socket.on("error", (error) => {
      if (!socket.readyState) fail(error);
    });
  });
}

/** The first error's code and message, for compact assertions. */
export const firstError = (outcome: Outcome) => ({
  code: outcome.errors?.[0]?.extensions?.code,
  message: outcome.errors?.[0]?.message,
});
