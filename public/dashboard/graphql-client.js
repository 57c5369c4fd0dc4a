// The dashboard's GraphQL clients, with no dependency: queries and mutations over HTTP POST, and
// subscriptions over one WebSocket speaking graphql-ws's protocol ("graphql-transport-ws":
// connection_init → connection_ack, then subscribe / next / error / complete per operation, and
// ping → pong; https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).

/** A GraphQL error answer: the first error's code and the HTTP status. */
export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Whether an error means the key is missing or wrong (the page then asks for one). */
export const isKeyError = (error) =>
  error instanceof ApiError && (error.code === "UNAUTHENTICATED" || error.status === 401);

/** POSTs operations to /graphql with the key from getKey() (if any). */
export function createHttpClient({ endpoint = "/graphql", getKey }) {
  return {
    async request(query, variables = {}) {
      const headers = { "content-type": "application/json", accept: "application/json" };
      const key = getKey();
      if (key) headers.authorization = `Bearer ${key}`;
      const response = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
      let body;
      try {
        body = await response.json();
      } catch {
        throw new ApiError(`HTTP ${response.status}`, undefined, response.status);
      }
      if (body.errors?.length) {
        const first = body.errors[0];
        throw new ApiError(body.errors.map((e) => e.message).join("; "), first.extensions?.code, response.status);
      }
      return body.data;
    },
  };
}

/**
 * One WebSocket for every subscription of the page; reconnects with a backoff (and subscribes
 * again) when the connection drops, except when the server refused the key (4401, 4403).
 * onStatus("live" | "connecting" | "closed" | "unauthorized") tells the page.
 */
export function createSocketClient({ url, getKey, onStatus = () => {} }) {
  const subscriptions = new Map();
  let socket;
  let acknowledged = false;
  let nextId = 1;
  let retryMs = 500;
  let retryTimer;
  let closedForGood = false;

  const send = (message) => socket?.readyState === WebSocket.OPEN && socket.send(JSON.stringify(message));
  const start = (id, entry) => send({ id, type: "subscribe", payload: entry.payload });

  const connect = () => {
    clearTimeout(retryTimer);
    acknowledged = false;
    onStatus("connecting");
    const ws = new WebSocket(url, "graphql-transport-ws");
    socket = ws;
    ws.onopen = () => {
      const key = getKey();
      ws.send(JSON.stringify({ type: "connection_init", payload: key ? { authorization: `Bearer ${key}` } : {} }));
    };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      const entry = subscriptions.get(message.id);
      switch (message.type) {
        case "connection_ack":
          acknowledged = true;
          retryMs = 500;
          onStatus("live");
          for (const [id, sub] of subscriptions) start(id, sub);
          break;
        case "ping":
          ws.send(JSON.stringify({ type: "pong" }));
          break;
        case "next":
          if (message.payload.errors?.length) entry?.sink.error?.(message.payload.errors);
          else entry?.sink.next(message.payload.data);
          break;
        case "error":
          entry?.sink.error?.(message.payload);
          subscriptions.delete(message.id);
          break;
        case "complete":
          subscriptions.delete(message.id);
          break;
      }
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      acknowledged = false;
      if (event.code === 4401 || event.code === 4403) {
        onStatus("unauthorized");
        return;
      }
      if (closedForGood) return;
      onStatus("closed");
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10_000);
    };
  };

  return {
    /** Subscribes; returns the function that stops it. */
    subscribe(query, variables, sink) {
      const id = String(nextId++);
      const entry = { payload: { query, variables }, sink };
      subscriptions.set(id, entry);
      if (!socket || socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING) connect();
      else if (acknowledged) start(id, entry);
      return () => {
        if (subscriptions.delete(id) && acknowledged) send({ id, type: "complete" });
      };
    },
    /** Drops the connection and connects again (a new key). */
    reconnect() {
      const old = socket;
      socket = undefined;
      old?.close(1000);
      connect();
    },
    close() {
      closedForGood = true;
      clearTimeout(retryTimer);
      socket?.close(1000);
    },
  };
}
