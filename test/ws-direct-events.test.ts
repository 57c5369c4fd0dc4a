// Stream events written straight to the socket (createWsServer's directEvents, issue 15 point 3):
// createWsServer on a small Yoga whose subscription is a cohort of createChannel()s fed by the
// test, with the shared execution and the operation log wired as in app.ts. Real sockets; what a
// client receives must be what graphql-ws would have sent, once each and in order, and the
// per-subscriber hooks (LIVE_MAX_QUEUED, the outgoing-buffer guard, the operation log, complete)
// must hold on the direct path.
import { createSchema, createYoga } from "graphql-yoga";
import pino from "pino";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createOperationLog, type OperationRecord } from "../src/http/operation-log.ts";
import { createChannel } from "../src/live/live-queries.ts";
import { useSharedSubscriptionExecution } from "../src/live/shared-execution.ts";
import { eventually } from "./support/questdb.ts";
import { listenWsServer, type RawClient, rawClient } from "./support/raw-ws.ts";

interface Tick {
  n: number;
  text?: string;
  /** `fails` throws for this tick. */
  fail?: boolean;
  /** `later` answers this tick when the test releases it (a promise). */
  held?: Promise<void>;
}

type Channel = ReturnType<typeof createChannel<Tick>>;

/** The server, and the cohort of `ticks` subscribers the test publishes to. */
async function directServer(options: { maxQueued?: number; maxBufferedBytes?: number } = {}) {
  const { maxQueued = 10_000, maxBufferedBytes } = options;
  const cohort = new Set<Channel>();
  const records: OperationRecord[] = [];
  const operations = createOperationLog(pino({ level: "silent" }), (record) => records.push(record));
  const shared = useSharedSubscriptionExecution();
  let direct = 0;
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: `
        type Query { ok: Boolean }
        type Tick { n: Int!, text: String, later: Int, fails: Int }
        type Subscription { ticks: Tick }`,
      resolvers: {
        Tick: {
          later: (tick: Tick) => (tick.held ? tick.held.then(() => tick.n) : tick.n),
          fails: (tick: Tick) => {
            if (tick.fail) throw new Error("not for clients");
            return tick.n;
          },
        },
        Subscription: {
          ticks: {
            // As schema/live.ts's subscribeChannel.
            subscribe: (_root: unknown, _args: unknown, context: Record<string, unknown>) => {
              const channel: Channel = createChannel<Tick>({
                coalesce: false,
                maxQueued,
                onOverflow: () =>
                  (context.closeConnection as (code: number, reason: string) => void)(
                    4429,
                    "Slow consumer: too many messages queued for this client",
                  ),
                onClose: () => cohort.delete(channel),
                direct: context.directNext as (event: unknown) => boolean,
              });
              cohort.add(channel);
              return channel;
            },
            resolve: (tick: Tick) => tick,
          },
        },
      },
    }),
    plugins: [operations.plugin, shared],
    // The masked error of a failing tick is expected here.
    logging: false,
  });
  const { url, ws } = await listenWsServer(yoga, {
    ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }),
    directEvents: {
      result: shared.eventResult,
      delivered: (context, result) => {
        direct++;
        shared.delivered(result);
        operations.delivered(context);
      },
      maxResponseBytes: 16 * 1024 * 1024,
    },
  });
  return {
    url,
    /** What a poller's delivery does: the same tick objects to every subscriber, in order. */
    publish: (ticks: Tick[]) => {
      for (const channel of cohort) channel.pushAll(ticks);
    },
    subscribers: () => cohort.size,
    /** Sockets the server is closing. */
    closing: () => [...ws.wss.clients].filter((socket) => socket.readyState === WebSocket.CLOSING).length,
    /** Messages written by the direct path. */
    direct: () => direct,
    records,
    counts: shared.counts,
  };
}

/** The `n` of each `next` message of `id`, in arrival order. */
const ns = (client: RawClient, id: string) =>
  client
    .of(id)
    .map((text) => (JSON.parse(text) as { payload: { data: { ticks: { n: number } } } }).payload.data.ticks.n);

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ticks = (from: number, to: number, text?: string) =>
  range(from, to).map((n): Tick => (text === undefined ? { n } : { n, text }));

/** Waits until every `id` of every client has `count` messages. */
const received = (clients: RawClient[], ids: string[], count: number) =>
  eventually(
    async () => (clients.every((c) => ids.every((id) => c.of(id).length >= count)) ? true : undefined),
    `${count} messages for each subscriber`,
  );

describe("stream events written straight to the socket", () => {
  it("writes each event to every subscriber of a cohort once and in order, with graphql-ws's exact bytes", async () => {
    const s = await directServer();
    const ids = ["1", "2", 'q"uote', "\u0000shared"];
    const clients = await Promise.all([1, 2, 3].map(() => rawClient(s.url)));
    for (const client of clients) for (const id of ids) client.subscribe(id, "subscription { ticks { n text } }");
    await eventually(async () => (s.subscribers() === 12 ? true : undefined), "12 subscribers");
    // Published before the subscriptions' iterators wait (graphql-ws's path), then while they do.
    s.publish(ticks(0, 0));
    await received(clients, ids, 1);
    const before = { direct: s.direct(), ...s.counts };
    const text = 'é "q" \\ \u2028 <\u0000>';
    for (const round of [0, 1, 2]) {
      s.publish(ticks(1 + round * 200, 200 + round * 200, text));
      await received(clients, ids, 1 + 200 * (round + 1));
    }
    const next = (id: string, n: number) =>
      JSON.stringify({ id, type: "next", payload: { data: { ticks: { n, text: n === 0 ? null : text } } } });
    for (const client of clients) {
      for (const id of ids) expect(client.of(id)).toEqual(range(0, 600).map((n) => next(id, n)));
      expect(client.texts).toHaveLength(4 * 601);
    }
    // All 600 events took the direct path; each executed once for the 12 subscribers.
    expect(s.direct() - before.direct).toBe(12 * 600);
    expect(s.counts.executions - before.executions).toBe(600);
    expect(s.counts.reused - before.reused).toBe(11 * 600);
    // The operation log counts the direct messages as graphql-ws's.
    for (const client of clients) for (const id of ids) client.complete(id);
    await eventually(async () => (s.records.length === 12 ? true : undefined), "12 operation lines");
    expect(s.records.map((r) => r.messages)).toEqual(Array(12).fill(601));
  });

  it("leaves an event whose result is a promise or has errors to graphql-ws, and the events behind it wait for it", async () => {
    const s = await directServer();
    const client = await rawClient(s.url);
    client.subscribe("plain", "subscription { ticks { n } }");
    client.subscribe("later", "subscription { ticks { n later } }");
    client.subscribe("errors", "subscription { ticks { n fails } }");
    const ids = ["plain", "later", "errors"];
    await eventually(async () => (s.subscribers() === 3 ? true : undefined), "3 subscribers");
    s.publish(ticks(0, 0));
    await received([client], ids, 1);
    const before = s.direct();
    let release = () => {};
    const held = new Promise<void>((done) => {
      release = done;
    });
    s.publish(range(1, 10).map((n) => (n === 5 ? { n, fail: true, held } : { n })));
    await received([client], ["plain", "errors"], 11);
    // `later` still waits for tick 5: the next batch must not pass it.
    expect(ns(client, "later")).toEqual(range(0, 4));
    s.publish(ticks(11, 20));
    await received([client], ["plain", "errors"], 21);
    release();
    await received([client], ids, 21);
    for (const id of ids) expect(ns(client, id)).toEqual(range(0, 20));
    expect(client.texts).toHaveLength(3 * 21);
    // plain: 20; later: 1–4; errors: 1–4 and 11–20 (its iterator waited again by then).
    expect(s.direct() - before).toBe(20 + 4 + 14);
    const failed = JSON.parse(client.of("errors")[5] as string) as {
      payload: { data: { ticks: { n: number; fails: number | null } }; errors: { message: string }[] };
    };
    expect(failed.payload.data.ticks).toEqual({ n: 5, fails: null });
    expect(failed.payload.errors.map((e) => e.message)).toEqual(["Unexpected error."]);
  });

  it("writes nothing to a subscription after its complete; the others on its socket go on", async () => {
    const s = await directServer();
    const client = await rawClient(s.url);
    client.subscribe("a", "subscription { ticks { n } }");
    client.subscribe("b", "subscription { ticks { n } }");
    await eventually(async () => (s.subscribers() === 2 ? true : undefined), "2 subscribers");
    s.publish(ticks(0, 5));
    await received([client], ["a", "b"], 6);
    client.complete("a");
    await eventually(async () => (s.subscribers() === 1 ? true : undefined), "a's channel closed");
    const before = s.direct();
    s.publish(ticks(6, 10));
    await received([client], ["b"], 11);
    expect(ns(client, "a")).toEqual(range(0, 5));
    expect(ns(client, "b")).toEqual(range(0, 10));
    expect(client.texts).toHaveLength(6 + 11);
    expect(s.direct() - before).toBe(5);
  });

  it("closes with 4429 at a batch of more than maxQueued + 1 events, and writes none of that batch", async () => {
    const s = await directServer({ maxQueued: 10 });
    const client = await rawClient(s.url);
    client.subscribe("1", "subscription { ticks { n } }");
    await eventually(async () => (s.subscribers() === 1 ? true : undefined), "the subscriber");
    s.publish(ticks(0, 0));
    await received([client], ["1"], 1);
    // maxQueued + 1 events fit (one taken by the waiting iterator, ten queued on graphql-ws's path).
    const before = s.direct();
    s.publish(ticks(1, 11));
    await received([client], ["1"], 12);
    expect(s.direct() - before).toBe(11);
    s.publish(ticks(12, 23));
    expect(await client.closed).toEqual({
      code: 4429,
      reason: "Slow consumer: too many messages queued for this client",
    });
    expect(ns(client, "1")).toEqual(range(0, 11));
    expect(client.texts).toHaveLength(12);
    expect(s.subscribers()).toBe(0);
  });

  it("closes a socket that stops reading with 4429 once direct writes fill its outgoing buffer", async () => {
    const s = await directServer({ maxBufferedBytes: 256 * 1024 });
    const client = await rawClient(s.url);
    client.subscribe("1", "subscription { ticks { n text } }");
    await eventually(async () => (s.subscribers() === 1 ? true : undefined), "the subscriber");
    s.publish(ticks(0, 0));
    await received([client], ["1"], 1);
    // biome-ignore lint/suspicious/noExplicitAny: reach the TCP socket to stop reading
    const tcp = (client.socket as any)._socket as import("node:net").Socket;
    tcp.pause();
    const before = s.direct();
    s.publish(ticks(1, 64, "x".repeat(1024 * 1024)));
    expect(s.direct() - before).toBe(64);
    // The guard looks every 500 ms; then the client reads again and meets the close frame.
    await eventually(async () => (s.closing() === 1 ? true : undefined), "the server to close the socket");
    tcp.resume();
    expect(await client.closed).toEqual({ code: 4429, reason: "Slow consumer: outgoing buffer full" });
  });
});
