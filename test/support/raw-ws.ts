// Real sockets for the WebSocket tests: createWsServer on a Yoga of the test's own (on a free
// port), and a graphql-transport-ws client on a raw socket that keeps every message's text as it
// arrived. Both are closed after the file's tests.
import { createServer } from "node:http";
import type { YogaServerInstance } from "graphql-yoga";
import { afterAll } from "vitest";
import WebSocket from "ws";
import { createAdmission } from "../../src/guard/admission.ts";
import { createKeyRing } from "../../src/guard/keys.ts";
import { createRateLimiter } from "../../src/guard/rate-limit.ts";
import { createTransportChecks } from "../../src/guard/transport.ts";
import { createWsServer, type WsServerOptions } from "../../src/live/ws-server.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * createWsServer for `yoga` on 127.0.0.1 without keys or rate limit, ten operations per
 * connection; `options` as createWsServer's. Returns its http:// address and the server.
 */
export async function listenWsServer(
  // biome-ignore lint/suspicious/noExplicitAny: any Yoga will do
  yoga: YogaServerInstance<any, any>,
  options: Pick<WsServerOptions, "keepAliveMs" | "maxBufferedBytes" | "directEvents"> = {},
) {
  const server = createServer();
  const ws = createWsServer({
    server,
    yoga,
    transport: createTransportChecks({
      allowedHosts: ["127.0.0.1", "localhost"],
      allowedOrigins: [],
      csrfPrevention: true,
      maxBodyBytes: 65_536,
    }),
    admission: createAdmission({
      keys: createKeyRing([]),
      limiter: createRateLimiter({ perSecond: 0, burst: 0 }),
      perSecond: 0,
    }),
    maxPayloadBytes: 65_536,
    maxSubscriptionsPerConnection: 10,
    maxSubscriptionsPerKey: 100,
    ...options,
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  cleanups.push(async () => {
    await ws.close();
    await new Promise((done) => server.close(done));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, ws };
}

/** A graphql-transport-ws connection to `url` (http://host:port) past its connection_ack. */
export async function rawClient(url: string) {
  const socket = new WebSocket(`${url.replace("http", "ws")}/graphql`, "graphql-transport-ws");
  cleanups.push(() => socket.terminate());
  const texts: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((done) =>
    socket.once("close", (code, reason) => done({ code, reason: reason.toString() })),
  );
  const acked = new Promise<void>((done) =>
    socket.on("message", (data: Buffer) => {
      const text = data.toString();
      if (JSON.parse(text).type === "connection_ack") done();
      else texts.push(text);
    }),
  );
  await new Promise((done) => socket.once("open", done));
  socket.send(JSON.stringify({ type: "connection_init" }));
  await acked;
  return {
    socket,
    /** Every message after connection_ack, as it arrived. */
    texts,
    closed,
    /** The texts of the messages of operation `id`. */
    of: (id: string) => texts.filter((text) => JSON.parse(text).id === id),
    subscribe: (id: string, query: string, variables: Record<string, unknown> = {}) =>
      socket.send(JSON.stringify({ id, type: "subscribe", payload: { query, variables } })),
    complete: (id: string) => socket.send(JSON.stringify({ id, type: "complete" })),
  };
}

export type RawClient = Awaited<ReturnType<typeof rawClient>>;
