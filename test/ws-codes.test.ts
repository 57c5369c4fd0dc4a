// Every close code and error code of the WebSocket transport (issue 12, point 3), each provoked
// against a real server: the app (with QuestDB) for what a client can cause, and createWsServer
// on a small Yoga of its own for what needs a short keep-alive or a small outgoing buffer. The
// last test checks that the README and docs/security.md list exactly the close codes tested here.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { type Client, createClient } from "graphql-ws";
import { createSchema, createYoga } from "graphql-yoga";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "./support/app.ts";
import { eventually } from "./support/questdb.ts";
import { listenWsServer } from "./support/raw-ws.ts";
import { upgradeStatus } from "./support/transports.ts";

const PROTOCOL = "graphql-transport-ws";
const KEY = "ws-codes-reader-key-0123456789";
const wsUrl = (url: string, path = "/graphql") => `${url.replace("http", "ws")}${path}`;

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("wscodes", {
    API_KEYS: `dash:reader:${KEY}`,
    MAX_BODY_BYTES: "65536",
    ALERT_INTERVAL_MS: "0",
  });
});

interface Closed {
  code: number;
  reason: string;
}

/** A raw socket: what it received, and how it was closed. */
function rawSocket(url: string, protocol: string | string[] = PROTOCOL, options: WebSocket.ClientOptions = {}) {
  const socket = new WebSocket(wsUrl(url), protocol, options);
  const received: { type: string; id?: string; payload?: unknown }[] = [];
  socket.on("message", (data) => received.push(JSON.parse(String(data))));
  socket.on("error", () => {});
  const opened = new Promise<void>((done) => socket.once("open", () => done()));
  const closed = new Promise<Closed>((done) =>
    socket.once("close", (code, reason) => done({ code, reason: reason.toString() })),
  );
  const send = (message: unknown) => socket.send(typeof message === "string" ? message : JSON.stringify(message));
  const receivedOf = (type: string, id?: string) =>
    eventually(async () => received.find((m) => m.type === type && m.id === id), `a ${type} message`, 5_000);
  return { socket, opened, closed, send, receivedOf };
}

/** A raw socket past connection_ack, with the reader key. */
async function initialised(url: string, key = KEY) {
  const raw = rawSocket(url);
  await raw.opened;
  raw.send({ type: "connection_init", payload: { authorization: `Bearer ${key}` } });
  await raw.receivedOf("connection_ack");
  return raw;
}

/** The official client, subscribing once; resolves with the close it met. */
function officialClientClose(url: string, connectionParams: Record<string, unknown>): Promise<Closed> {
  return new Promise((done) => {
    const client: Client = createClient({
      url: wsUrl(url),
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      on: {
        closed: (event) => {
          const { code, reason } = event as Closed;
          done({ code, reason });
        },
      },
    });
    cleanups.push(() => client.dispose());
    client.subscribe({ query: "subscription { alerts { ruleId } }" }, { next() {}, error() {}, complete() {} });
  });
}

const ALERTS = { query: "subscription { alerts { ruleId } }" };

/** Every close a client can meet, as the README lists it: code and reason. */
const tested = new Map<string, Closed>();
const record = (closed: Closed) => {
  tested.set(`${closed.code} ${closed.reason}`, closed);
  return closed;
};

describe("close codes of the app's WebSocket server", () => {
  it("4401 'Unauthorized: API key required': connection_init without a key (official client)", async () => {
    expect(record(await officialClientClose(t.url, {}))).toEqual({
      code: 4401,
      reason: "Unauthorized: API key required",
    });
  });

  it("4403 'Forbidden': connection_init with a key that is not valid (official client)", async () => {
    expect(record(await officialClientClose(t.url, { authorization: "Bearer not-a-valid-key-0123456789" }))).toEqual({
      code: 4403,
      reason: "Forbidden",
    });
  });

  it("4401 'Unauthorized': subscribe before connection_init", async () => {
    const raw = rawSocket(t.url);
    await raw.opened;
    raw.send({ type: "subscribe", id: "1", payload: ALERTS });
    expect(record(await raw.closed)).toEqual({ code: 4401, reason: "Unauthorized" });
  });

  it("4400 'Invalid message received': a message that is not a graphql-transport-ws message", async () => {
    const raw = await initialised(t.url);
    raw.send({ type: "subscribe", id: "1" }); // no payload
    expect(record(await raw.closed)).toEqual({ code: 4400, reason: "Invalid message received" });
    const notJson = await initialised(t.url);
    notJson.send("{ this is not JSON");
    expect(await notJson.closed).toEqual({ code: 4400, reason: "Invalid message received" });
  });

  it("4406 'Subprotocol not acceptable': an upgrade without the graphql-transport-ws subprotocol; one offering only another fails its handshake", async () => {
    expect(record(await rawSocket(t.url, []).closed)).toEqual({
      code: 4406,
      reason: "Subprotocol not acceptable",
    });
    // The server agrees on no subprotocol, so a client that asked for one (the legacy graphql-ws of
    // subscriptions-transport-ws) gives up on the handshake itself: no socket, no close frame.
    const legacy = new WebSocket(wsUrl(t.url), "graphql-ws");
    const failure = await new Promise<string>((done) => legacy.on("error", (error) => done(error.message)));
    expect(failure).toBe("Server sent no subprotocol");
  });

  it("4408 'Connection initialisation timeout': no connection_init within 3 s", async () => {
    const raw = rawSocket(t.url);
    await raw.opened;
    const opened = performance.now();
    expect(record(await raw.closed)).toEqual({ code: 4408, reason: "Connection initialisation timeout" });
    const ms = performance.now() - opened;
    expect(ms).toBeGreaterThanOrEqual(2_900);
    expect(ms).toBeLessThan(4_000);
  });

  it("4409 'Subscriber for <id> already exists': subscribe with the id of a running operation", async () => {
    const raw = await initialised(t.url);
    raw.send({ type: "subscribe", id: "same", payload: ALERTS });
    raw.send({ type: "subscribe", id: "same", payload: ALERTS });
    expect(await raw.closed).toEqual({ code: 4409, reason: "Subscriber for same already exists" });
    record({ code: 4409, reason: "Subscriber for <id> already exists" }); // as the README writes it
  });

  it("4429 'Too many initialisation requests': a second connection_init", async () => {
    const raw = await initialised(t.url);
    raw.send({ type: "connection_init", payload: { authorization: `Bearer ${KEY}` } });
    expect(record(await raw.closed)).toEqual({ code: 4429, reason: "Too many initialisation requests" });
  });

  it("4500 'Internal server error': a message type a server never accepts (no detail sent)", async () => {
    const raw = await initialised(t.url);
    raw.send({ type: "next", id: "1", payload: { data: null } });
    expect(record(await raw.closed)).toEqual({ code: 4500, reason: "Internal server error" });
  });

  it("1009 with no reason: a message larger than MAX_BODY_BYTES", async () => {
    const raw = await initialised(t.url);
    raw.send({
      type: "subscribe",
      id: "1",
      payload: { query: `subscription { alerts { ruleId } } # ${"x".repeat(70_000)}` },
    });
    expect(record(await raw.closed)).toEqual({ code: 1009, reason: "" });
  });

  it("1007 with no reason: a text message that is not UTF-8", async () => {
    const raw = await initialised(t.url);
    raw.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
    expect(record(await raw.closed)).toEqual({ code: 1007, reason: "" });
  });

  it("1002 with no reason: a frame that breaks the WebSocket protocol (unmasked, from a client)", async () => {
    const { port } = new URL(t.url);
    const closeFrame = await new Promise<Buffer>((done, fail) => {
      const tcp = connect(Number(port), "127.0.0.1");
      let buffered = Buffer.alloc(0);
      let upgraded = false;
      tcp.on("error", fail);
      tcp.on("data", (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!upgraded) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end < 0) return;
          expect(buffered.subarray(0, 12).toString()).toBe("HTTP/1.1 101");
          upgraded = true;
          buffered = buffered.subarray(end + 4);
          tcp.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // text "hi", mask bit unset
        }
        if (buffered.length >= 4) {
          done(buffered.subarray(0, 4));
          tcp.destroy();
        }
      });
      tcp.write(
        [
          "GET /graphql HTTP/1.1",
          `Host: 127.0.0.1:${port}`,
          "Upgrade: websocket",
          "Connection: Upgrade",
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version: 13",
          `Sec-WebSocket-Protocol: ${PROTOCOL}`,
          "",
          "",
        ].join("\r\n"),
      );
    });
    // A close frame (opcode 8) of two bytes: the status code alone.
    expect([closeFrame[0], closeFrame[1], closeFrame.readUInt16BE(2)]).toEqual([0x88, 0x02, 1002]);
    record({ code: 1002, reason: "" });
  });

  it("1001 'Going away': the server stops (stop())", async () => {
    const s = await startTestApp("wsstop", { ALERT_INTERVAL_MS: "0" });
    const raw = await initialised(s.url);
    raw.send({ type: "subscribe", id: "1", payload: ALERTS });
    await new Promise((done) => setTimeout(done, 50));
    const stopping = s.app.stop();
    expect(record(await raw.closed)).toEqual({ code: 1001, reason: "Going away" });
    await stopping;
  });

  it("upgrade refused before any socket opens: 403 for a foreign Origin or Host, 400 on another path", async () => {
    expect(await upgradeStatus(t.url, { origin: "https://evil.example" })).toBe(403);
    expect(await upgradeStatus(t.url, { host: "evil.example" })).toBe(403);
    const status = await new Promise<number>((done) => {
      const socket = new WebSocket(wsUrl(t.url, "/other"), PROTOCOL);
      socket.on("unexpected-response", (_request, response) => {
        done(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on("error", () => done(-1));
    });
    expect(status).toBe(400);
  });
});

describe("per-operation errors: the operation ends, the connection stays open", () => {
  it("GRAPHQL_PARSE_FAILED and GRAPHQL_VALIDATION_FAILED come back as error messages for that id", async () => {
    const raw = await initialised(t.url);
    raw.send({ type: "subscribe", id: "parse", payload: { query: "subscription {" } });
    raw.send({ type: "subscribe", id: "valid", payload: { query: "subscription { nope }" } });
    expect((await raw.receivedOf("error", "parse")).payload).toEqual([
      {
        message: "Syntax Error: Expected Name, found <EOF>.",
        locations: [{ line: 1, column: 15 }],
        extensions: { code: "GRAPHQL_PARSE_FAILED" },
      },
    ]);
    expect((await raw.receivedOf("error", "valid")).payload).toEqual([
      {
        message: 'Cannot query field "nope" on type "Subscription".',
        locations: [{ line: 1, column: 16 }],
        extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      },
    ]);
    // Still open: a ping is answered.
    raw.send({ type: "ping" });
    await raw.receivedOf("pong");
    raw.socket.close();
  });

  it("RATE_LIMITED carries retryable and retryAfterMs (no headers on a socket)", async () => {
    const limited = await startTestApp("wsrate", {
      API_KEYS: `dash:reader:${KEY}`,
      RATE_LIMIT_PER_SECOND: "1",
      RATE_LIMIT_BURST: "1",
      ALERT_INTERVAL_MS: "0",
    });
    const raw = await initialised(limited.url);
    raw.send({ type: "subscribe", id: "first", payload: ALERTS });
    raw.send({ type: "subscribe", id: "second", payload: ALERTS });
    const [error] = (await raw.receivedOf("error", "second")).payload as {
      message: string;
      extensions: { code: string; retryable: boolean; retryAfterMs: number };
    }[];
    expect(error?.message).toMatch(
      /^Rate limit: the key dash sent more than 1 requests per second \(RATE_LIMIT_PER_SECOND\); retry after \d+ ms$/,
    );
    expect(error?.extensions).toEqual({ code: "RATE_LIMITED", retryable: true, retryAfterMs: expect.any(Number) });
    expect(error?.extensions.retryAfterMs).toBeGreaterThan(0);
    expect(error?.extensions.retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    raw.socket.close();
  });
});

describe("close codes that need a short keep-alive or a small outgoing buffer (createWsServer on its own Yoga)", () => {
  /** createWsServer with the app's transport checks and admission, on a Yoga whose subscription sends big strings. */
  async function smallServer(options: { keepAliveMs?: number; maxBufferedBytes?: number }) {
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: "type Query { ok: Boolean } type Subscription { big(n: Int!, bytes: Int!): String }",
        resolvers: {
          Subscription: {
            big: {
              subscribe: async function* (_: unknown, { n, bytes }: { n: number; bytes: number }) {
                for (let i = 0; i < n; i++) yield { big: "x".repeat(bytes) };
              },
            },
          },
        },
      }),
    });
    return (await listenWsServer(yoga, options)).url;
  }

  it("1006 (no close frame): a client that does not answer the server's ping is dropped at the next ping", async () => {
    const url = await smallServer({ keepAliveMs: 200 });
    const raw = rawSocket(url, PROTOCOL, { autoPong: false });
    await raw.opened;
    raw.send({ type: "connection_init" });
    await raw.receivedOf("connection_ack");
    const started = performance.now();
    expect(record(await raw.closed)).toEqual({ code: 1006, reason: "" });
    expect(performance.now() - started).toBeLessThan(1_000);
    // A client that answers pings stays.
    const answering = rawSocket(url);
    await answering.opened;
    answering.send({ type: "connection_init" });
    await answering.receivedOf("connection_ack");
    await new Promise((done) => setTimeout(done, 700));
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    answering.socket.close();
  });

  it("4429 'Slow consumer: outgoing buffer full': a client that stops reading while big messages wait", async () => {
    const url = await smallServer({ maxBufferedBytes: 256 * 1024 });
    const raw = rawSocket(url);
    await raw.opened;
    raw.send({ type: "connection_init" });
    await raw.receivedOf("connection_ack");
    // biome-ignore lint/suspicious/noExplicitAny: reach the TCP socket to stop reading
    const tcp = (raw.socket as any)._socket as import("node:net").Socket;
    tcp.pause();
    raw.send({ type: "subscribe", id: "1", payload: { query: "subscription { big(n: 64, bytes: 1048576) }" } });
    // The guard looks every 500 ms; then the client reads again and meets the close frame.
    await new Promise((done) => setTimeout(done, 1_500));
    tcp.resume();
    expect(record(await raw.closed)).toEqual({ code: 4429, reason: "Slow consumer: outgoing buffer full" });
  });
});

describe("the documentation", () => {
  it("README and docs/security.md list exactly the close codes tested here, with their reasons", () => {
    // 4429 for a tradeRecorded subscriber more than LIVE_MAX_QUEUED behind: test/live.test.ts
    // ("disconnects a tradeRecorded client that stops reading with close code 4429").
    const expected = [
      ...tested.values(),
      { code: 4429, reason: "Slow consumer: too many messages queued for this client" },
    ]
      .map(({ code, reason }) => `${code} ${reason}`)
      .sort();
    expect(expected).toHaveLength(16);
    for (const file of ["README.md", "docs/security.md"]) {
      const text = readFileSync(file, "utf8");
      const start = text.indexOf("<!-- ws-close-codes -->");
      const end = text.indexOf("<!-- /ws-close-codes -->");
      expect(start, file).toBeGreaterThan(0);
      const rows = text
        .slice(start, end)
        .split("\n")
        .map((line) => /^\| \*\*(\d{4})\*\* +\| (?:`([^`]*)`|\(none\)|\(no close frame\)) +\|/.exec(line))
        .filter((m) => m !== null)
        .map((m) => `${m[1]} ${m[2] ?? ""}`)
        .sort();
      expect(rows, file).toEqual(expected);
    }
  });
});
