// Admission control (issue 10, point 2): a writer's batch meets a full queue before its body is
// read; requests run in two lanes with bounded slots and a short bounded wait. Units with fake
// timers, then the real server on the real QuestDB.

import http from "node:http";
import { connect } from "node:net";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createLoadControl } from "../src/guard/load.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, testPool } from "./support/questdb.ts";
import { send } from "./support/transports.ts";

describe("the load control (units)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("grants slots up to the lane's limit, queues the rest in order, passes a released slot on, and refuses past the wait bound or time", async () => {
    vi.useFakeTimers();
    const load = createLoadControl({
      queue: () => ({ rows: 0, max: 100 }),
      maxConcurrentRequests: 2,
      maxConcurrentWrites: 1,
      maxWaitingRequests: 2,
      maxWaitingWrites: 2,
      maxWaitMs: 1_000,
      maxInflightBytes: 1_000_000,
    });
    const a = await load.acquire("read", 0);
    const b = await load.acquire("read", 0);
    const order: string[] = [];
    const c = load.acquire("read", 0).then((slot) => {
      order.push("c");
      return slot;
    });
    const d = load.acquire("read", 0).then((slot) => {
      order.push("d");
      return slot;
    });
    const e = await load.acquire("read", 0); // the wait queue holds 2
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toBe("The server is busy (2 requests running, 2 waiting); retry after 1 s");
    // The write lane is separate.
    expect(typeof (await load.acquire("write", 0))).toBe("function");
    expect(load.stats()).toMatchObject({ active: { read: 2, write: 1 }, waiting: { read: 2, write: 0 } });
    (a as () => void)();
    (a as () => void)(); // releasing twice frees one slot
    expect(typeof (await c)).toBe("function");
    expect(order).toEqual(["c"]);
    await vi.advanceTimersByTimeAsync(1_000);
    const late = await d;
    expect(late).toBeInstanceOf(Error);
    expect(load.stats()).toMatchObject({ active: { read: 2 }, waiting: { read: 0 }, refusedOverloaded: 2 });
    (b as () => void)();
    ((await c) as () => void)();
    expect(load.stats().active.read).toBe(0);
  });

  it("admits bodies while their bytes fit MAX_INFLIGHT_BODY_BYTES over both lanes, one alone always, the rest in order", async () => {
    const load = createLoadControl({
      queue: () => ({ rows: 0, max: 100 }),
      maxConcurrentRequests: 10,
      maxConcurrentWrites: 10,
      maxWaitingRequests: 10,
      maxWaitingWrites: 10,
      maxWaitMs: 60_000,
      maxInflightBytes: 100,
    });
    const big = await load.acquire("read", 500); // alone: may run
    expect(typeof big).toBe("function");
    const granted: string[] = [];
    const write = load.acquire("write", 60).then((slot) => {
      granted.push("write");
      return slot as () => void;
    });
    const read = load.acquire("read", 30).then((slot) => {
      granted.push("read");
      return slot as () => void;
    });
    await Promise.resolve();
    expect(load.stats()).toMatchObject({ inflightBytes: 500, waiting: { read: 1, write: 1 } });
    (big as () => void)();
    const [w, r] = await Promise.all([write, read]);
    expect(granted.sort()).toEqual(["read", "write"]);
    expect(load.stats().inflightBytes).toBe(90);
    w();
    r();
    expect(load.stats().inflightBytes).toBe(0);
  });

  it("reserves a writer's announced rows and refuses what the queue cannot take, never on an empty queue", () => {
    let held = 0;
    const load = createLoadControl({
      queue: () => ({ rows: held, max: 1_000 }),
      maxConcurrentRequests: 1,
      maxConcurrentWrites: 1,
      maxWaitingRequests: 0,
      maxWaitingWrites: 0,
      maxWaitMs: 1,
      maxInflightBytes: 1_000_000,
    });
    // 400 bytes a row: 300,000 bytes announce 750 rows.
    const first = load.reserveWrite(300_000);
    expect(typeof first).toBe("function");
    const second = load.reserveWrite(200_000);
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toBe(
      "the ingest queue is full (0 rows waiting for QuestDB, 750 more arriving; MAX_QUEUE_ROWS 1000); retry later",
    );
    (first as () => void)();
    held = 900;
    expect(load.reserveWrite(80_000)).toBeInstanceOf(Error); // 200 rows: 900 + 200 > 1,000
    expect(load.reserveWrite(40_000)).toBeTypeOf("function"); // 100 rows: 900 + 100 fit
    expect(load.stats()).toMatchObject({ reservedRows: 100, refusedQueueFull: 2 });
    // On an empty queue even a body announcing more than the bound goes on (the resolver decides).
    const empty = createLoadControl({
      queue: () => ({ rows: 0, max: 10 }),
      maxConcurrentRequests: 1,
      maxConcurrentWrites: 1,
      maxWaitingRequests: 0,
      maxWaitingWrites: 0,
      maxWaitMs: 1,
      maxInflightBytes: 1_000_000,
    });
    expect(empty.reserveWrite(1_000_000)).toBeTypeOf("function");
  });
});

const WRITER = "bot-key-0123456789abcdef";
const READER = "dash-key-0123456789abcdef";
const RECORD =
  "mutation($t: [TradeInput!]!, $d: Durability!) { recordTrades(inputs: $t, durability: $d) { accepted } }";

describe("admission control on the real server", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("load", {
      API_KEYS: `bot:writer:${WRITER},dash:reader:${READER}`,
      // Rows stay queued until the test flushes.
      BATCH_INTERVAL_MS: "60000",
      BATCH_MAX_ROWS: "100000",
      MAX_QUEUE_ROWS: "1000",
      MAX_CONCURRENT_WRITES: "1",
      MAX_WAITING_WRITES: "1",
      MAX_WAIT_MS: "300",
      ALERT_INTERVAL_MS: "0",
      SYSTEM_METRICS_INTERVAL_MS: "0",
    });
  });

  /** A writer's recordTrades of `n` new trades over the lean path. */
  const record = (prefix: string, n: number, durability: "QUEUED" | "COMMITTED") =>
    send(t.url, "lean", { query: RECORD, variables: { t: batch(prefix, n), d: durability } }, { key: WRITER });
  const batch = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => makeTrade(`${prefix}-${i}`, new Date(Date.now() - 60_000 + i).toISOString()));

  it("refuses a writer's batch with QUEUE_FULL (503, Retry-After) before reading its body once the queue cannot take it; nothing acknowledged is lost", async () => {
    const first = await record("qf-a", 900, "QUEUED");
    expect(first.data).toEqual({ recordTrades: { accepted: 900 } });
    // Not even JSON: a parsed body would get a parse error, an unread one QUEUE_FULL.
    const r = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${WRITER}` },
      body: "x".repeat(200_000),
    });
    expect(r.status).toBe(503);
    expect(r.headers.get("retry-after")).toBe("1");
    const body = (await r.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    expect(body.errors[0]).toEqual({
      message:
        "the ingest queue is full (900 rows waiting for QuestDB, 0 more arriving; MAX_QUEUE_ROWS 1000); retry later",
      extensions: { code: "QUEUE_FULL", retryable: true, retryAfterMs: 1_000 },
    });
    // A reader is not held back by the full queue.
    expect((await send(t.url, "lean", { query: "{ __typename }" }, { key: READER })).data).toEqual({
      __typename: "Query",
    });
    await t.app.writer.drain();
    const pool = testPool();
    try {
      // Acknowledged by QuestDB; visible once its WAL is applied.
      await eventually(async () => {
        const { rows } = await pool.query(`SELECT count() n FROM ${t.prefix}trades WHERE trade_id LIKE 'qf-a-%'`);
        return Number(rows[0].n) === 900 ? true : undefined;
      }, "the 900 acknowledged rows");
    } finally {
      await pool.end();
    }
  });

  /**
   * A writer's request that holds its write slot: its headers are in, its body is still being
   * uploaded (the slot is taken before the body is read). `finish` sends the rest.
   */
  const slowUpload = (prefix: string) => {
    const port = Number(new URL(t.url).port);
    const body = JSON.stringify({ query: RECORD, variables: { t: batch(prefix, 1), d: "QUEUED" } });
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
    const answered = new Promise<string>((done) => socket.on("close", () => done(answer)));
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${WRITER}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    return { finish: () => socket.write(body.slice(10)), answered };
  };
  const writeLane = async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}\\{lane="write"\\} (\\S+)$`, "m").exec(metrics)?.[1]);
    return { active: value("requests_active"), waiting: value("requests_waiting") };
  };

  it("runs one write at a time, lets one wait, answers OVERLOADED past that or after MAX_WAIT_MS, and keeps reads apart", async () => {
    const holding = slowUpload("ov-a");
    await vi.waitFor(async () => expect((await writeLane()).active).toBe(1), { timeout: 5_000 });
    const waiting = record("ov-b", 1, "QUEUED");
    await vi.waitFor(async () => expect((await writeLane()).waiting).toBe(1));
    const refused = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${WRITER}` },
      body: JSON.stringify({ query: RECORD, variables: { t: batch("ov-c", 1), d: "QUEUED" } }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe(
      "The server is busy (1 writes running, 1 waiting); retry after 1 s",
    );
    // Reads have their own lane.
    expect((await send(t.url, "lean", { query: "{ __typename }" }, { key: READER })).data).toEqual({
      __typename: "Query",
    });
    // The waiting write gives up after MAX_WAIT_MS.
    const waited = await waiting;
    expect(waited.status).toBe(503);
    expect(waited.errors?.[0]?.extensions?.code).toBe("OVERLOADED");
    holding.finish();
    expect(await holding.answered).toContain('{"data":{"recordTrades":{"accepted":1}}}');
    // The slot is free again.
    const after = await record("ov-d", 1, "QUEUED");
    expect(after.data).toEqual({ recordTrades: { accepted: 1 } });
  });

  it("a COMMITTED write lets its slot go once its rows are queued: other writes run while it waits for QuestDB", async () => {
    // The next flush is 60 s away: these wait for their commit until the test flushes.
    // Each is sent once the previous one is queued: holding its slot, the second would wait and
    // the third be refused (MAX_WAITING_WRITES=1).
    const committed: ReturnType<typeof record>[] = [];
    for (const prefix of ["cm-a", "cm-b", "cm-c"]) {
      const queued = t.app.services.writer.stats().queuedRows;
      committed.push(record(prefix, 3, "COMMITTED"));
      await vi.waitFor(() => expect(t.app.services.writer.stats().queuedRows).toBe(queued + 3), { timeout: 5_000 });
    }
    // One slot (MAX_CONCURRENT_WRITES=1), three writes waiting for QuestDB, none holding it.
    expect(await writeLane()).toEqual({ active: 0, waiting: 0 });
    expect((await record("cm-d", 1, "QUEUED")).data).toEqual({ recordTrades: { accepted: 1 } });
    await t.app.writer.drain();
    for (const answer of await Promise.all(committed)) {
      expect(answer.data).toEqual({ recordTrades: { accepted: 3 } });
    }
  });
  it("asks for a body only once it admitted the request (Expect: 100-continue): a refusal costs no upload", async () => {
    /** POSTs with `Expect: 100-continue`; the body is written only on "100 Continue". */
    const expectContinue = (key: string, body: string) =>
      new Promise<{ status: number; continued: boolean; answer: string }>((resolve, reject) => {
        let continued = false;
        const bytes = Buffer.from(body);
        const req = http.request(`${t.url}/graphql`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "content-length": bytes.length,
            authorization: `Bearer ${key}`,
            expect: "100-continue",
          },
        });
        req.on("continue", () => {
          continued = true;
          req.end(bytes);
        });
        req.on("error", reject);
        req.on("response", (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            if (!continued) req.destroy();
            resolve({ status: response.statusCode ?? 0, continued, answer: Buffer.concat(chunks).toString() });
          });
        });
        req.flushHeaders();
      });
    const body = (prefix: string, n: number) =>
      JSON.stringify({ query: RECORD, variables: { t: batch(prefix, n), d: "QUEUED" } });

    // Admitted: "100 Continue", then the body, then the answer; the rows are queued.
    const queued = t.app.writer.stats().queuedRows;
    const admitted = await expectContinue(WRITER, body("ec-a", 10));
    expect(admitted).toMatchObject({ status: 200, continued: true });
    expect(JSON.parse(admitted.answer)).toEqual({ data: { recordTrades: { accepted: 10 } } });
    expect(t.app.writer.stats().queuedRows).toBe(queued + 10);

    // Refused from the headers (a wrong key; a batch the queue cannot take): the answer comes
    // without "100 Continue", so the body is never sent.
    const unknown = await expectContinue("no-such-key-0123456789", body("ec-b", 10));
    expect(unknown).toMatchObject({ status: 401, continued: false });
    expect(JSON.parse(unknown.answer).errors[0].extensions.code).toBe("UNAUTHENTICATED");
    const full = await expectContinue(WRITER, body("ec-c", 2_000));
    expect(full).toMatchObject({ status: 503, continued: false });
    expect(JSON.parse(full.answer).errors[0].extensions.code).toBe("QUEUE_FULL");
    expect(t.app.writer.stats().queuedRows).toBe(queued + 10);

    // The server is as usable as before.
    expect((await record("ec-d", 1, "QUEUED")).data).toEqual({ recordTrades: { accepted: 1 } });
    await t.app.writer.drain();
  });
});
