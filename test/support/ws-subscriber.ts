// A subscriber over GraphQL over WebSocket (the official graphql-ws client) that collects what
// arrives: each event with its arrival time, and the errors (a GraphQL error, a closed socket).
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export interface Received<T> {
  value: T;
  /** performance.now() when it arrived. */
  at: number;
}

export interface WsSubscriber<T> {
  received: Received<T>[];
  errors: unknown[];
  /** Resolves once the server acknowledged the connection (the key was accepted). */
  connected: Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Subscribes to `query` on the API at `url` (http://host:port) with `key` (sent as the
 * connection parameter `authorization`), keeping `pick(data)` of every event. No reconnection: a
 * killed instance shows as an error. `cleanups` gets the client's disposal.
 */
export function subscribeWs<T>(options: {
  url: string;
  query: string;
  variables?: Record<string, unknown>;
  key?: string;
  pick: (data: Record<string, unknown>) => T | undefined;
  cleanups: (() => Promise<void>)[];
}): WsSubscriber<T> {
  const { url, query, variables = {}, key, pick, cleanups } = options;
  let onConnected = () => {};
  const connected = new Promise<void>((done) => {
    onConnected = done;
  });
  const client = createClient({
    url: `${url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    ...(key ? { connectionParams: { authorization: `Bearer ${key}` } } : {}),
    on: { connected: () => onConnected() },
    onNonLazyError: () => {},
  });
  const received: Received<T>[] = [];
  const errors: unknown[] = [];
  client.subscribe<Record<string, unknown>>(
    { query, variables },
    {
      next: (result) => {
        const value = result.data ? pick(result.data) : undefined;
        if (result.errors || value === undefined) errors.push(result.errors ?? result);
        else received.push({ value, at: performance.now() });
      },
      error: (error) => errors.push(error),
      complete: () => {},
    },
  );
  const dispose = () => Promise.resolve(client.dispose());
  cleanups.push(dispose);
  return { received, errors, connected, dispose };
}
