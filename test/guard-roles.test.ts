// Every caller (no key, a wrong key, each role) against every root field of the schema, plus
// introspection, through the transport a client would use: queries and mutations as lean POSTs
// (JSON in and out, no Origin), subscriptions over graphql-ws. The table of operations below must
// name exactly the schema's root fields, so a new field fails here until its roles are tested.
import { type Client, createClient, type FormattedExecutionResult } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { INVALID_KEY_MESSAGE, MISSING_KEY_MESSAGE } from "../src/guard/admission.ts";
import type { Role } from "../src/guard/keys.ts";
import { type Access, ROOT_FIELD_ACCESS } from "../src/guard/operation.ts";
import { schema } from "../src/schema/index.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";

const KEYS: Record<Role, string> = {
  reader: "reader-key-0123456789",
  writer: "writer-key-0123456789",
  admin: "admin-key-0123456789",
};
const NAMES: Record<Role, string> = { reader: "reader-1", writer: "writer-1", admin: "admin-1" };
const API_KEYS = (Object.keys(KEYS) as Role[]).map((role) => `${NAMES[role]}:${role}:${KEYS[role]}`).join(",");
const WRONG_KEY = "wrong-key-0123456789";

type Caller = "no key" | "wrong key" | Role;
const CALLERS: readonly Caller[] = ["no key", "wrong key", "reader", "writer", "admin"];
const keyOf = (caller: Caller): string | undefined =>
  caller === "no key" ? undefined : caller === "wrong key" ? WRONG_KEY : KEYS[caller];

type Data = Record<string, unknown>;

/** Per test: what an allowed operation sends and the exact answer it expects. */
interface Operation {
  /** What the test expects the field to need (compared with ROOT_FIELD_ACCESS too). */
  access: Access;
  query: string;
  variables?: (id: string) => Record<string, unknown>;
  /** The exact data of an allowed call (id: the unique id the variables were made with). */
  expected: (id: string, t: TestApp, caller: Role) => Data;
}

const RANGE_2020 = '{ from: "2020-01-01T00:00:00Z", to: "2020-01-02T00:00:00Z" }';
const RANGE_2020_OUT = { from: "2020-01-01T00:00:00.000000Z", to: "2020-01-02T00:00:00.000000Z" };

// Minimal valid operations, one per root field, with answers that do not depend on what other
// tests recorded (a range in 2020, a strategy nobody records, ids made for the call).
const OPERATIONS: Record<string, Operation> = {
  "Query.trades": {
    access: "read",
    query: '{ trades(first: 1, filter: { strategy: "guard-nobody" }) { nodes { tradeId } } }',
    expected: () => ({ trades: { nodes: [] } }),
  },
  "Query.tradeStats": {
    access: "read",
    query: `{ tradeStats(range: ${RANGE_2020}) { from to } }`,
    expected: () => ({ tradeStats: RANGE_2020_OUT }),
  },
  "Query.latencyStats": {
    access: "read",
    query: `{ latencyStats(range: ${RANGE_2020}) { from to } }`,
    expected: () => ({ latencyStats: RANGE_2020_OUT }),
  },
  "Query.mevEffectiveness": {
    access: "read",
    query: `{ mevEffectiveness(range: ${RANGE_2020}) { from to } }`,
    expected: () => ({ mevEffectiveness: RANGE_2020_OUT }),
  },
  "Query.strategyPerformance": {
    access: "read",
    query: `{ strategyPerformance(range: ${RANGE_2020}) { strategy trades } }`,
    expected: () => ({ strategyPerformance: [] }),
  },
  "Query.performanceByPeriod": {
    access: "read",
    query: `{ performanceByPeriod(range: ${RANGE_2020}, bucket: DAY) { bucket trades } }`,
    // An empty range: no periods (docs/queries.md, "No data, no row").
    expected: () => ({ performanceByPeriod: [] }),
  },
  "Query.alertRules": {
    access: "read",
    query: "{ alertRules { id kind threshold } }",
    // The rules this app holds at the time of the call.
    expected: (_id, t) => ({
      alertRules: t.app.services.alerts.rules().map(({ id, kind, threshold }) => ({ id, kind, threshold })),
    }),
  },
  "Query.alertEvents": {
    access: "read",
    query: `{ alertEvents(range: ${RANGE_2020}) { eventId } }`,
    expected: () => ({ alertEvents: [] }),
  },
  "Query.systemMetrics": {
    access: "read",
    query: `{ systemMetrics(range: ${RANGE_2020}, bucket: HOUR) { bucket } }`,
    expected: () => ({ systemMetrics: [] }),
  },
  "Query.viewer": {
    access: "read",
    query: "{ viewer { name role } }",
    expected: (_id, _t, caller) => ({ viewer: { name: NAMES[caller], role: caller } }),
  },
  "Mutation.recordTrade": {
    access: "write",
    query: "mutation($input: TradeInput!) { recordTrade(input: $input) { accepted ids } }",
    variables: (id) => ({ input: makeTrade(id) }),
    expected: (id) => ({ recordTrade: { accepted: 1, ids: [id] } }),
  },
  "Mutation.recordTrades": {
    access: "write",
    query: "mutation($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs) { accepted ids } }",
    variables: (id) => ({ inputs: [makeTrade(`${id}-a`), makeTrade(`${id}-b`)] }),
    expected: (id) => ({ recordTrades: { accepted: 2, ids: [`${id}-a`, `${id}-b`] } }),
  },
  "Mutation.recordLatencyMetric": {
    access: "write",
    query: "mutation($input: LatencyMetricInput!) { recordLatencyMetric(input: $input) { accepted ids } }",
    variables: (id) => ({
      input: { metricId: id, stage: "guard", latencyUs: 1500, timestamp: new Date().toISOString() },
    }),
    expected: (id) => ({ recordLatencyMetric: { accepted: 1, ids: [id] } }),
  },
  "Mutation.recordLatencyMetrics": {
    access: "write",
    query: "mutation($inputs: [LatencyMetricInput!]!) { recordLatencyMetrics(inputs: $inputs) { accepted ids } }",
    variables: (id) => ({
      inputs: [{ metricId: id, stage: "guard", latencyUs: 1500, timestamp: new Date().toISOString() }],
    }),
    expected: (id) => ({ recordLatencyMetrics: { accepted: 1, ids: [id] } }),
  },
  "Mutation.recordMevMetric": {
    access: "write",
    query: "mutation($input: MevMetricInput!) { recordMevMetric(input: $input) { accepted ids } }",
    variables: (id) => ({
      input: {
        metricId: id,
        outcome: "LANDED",
        protection: "NONE",
        tipLamports: 0,
        timestamp: new Date().toISOString(),
      },
    }),
    expected: (id) => ({ recordMevMetric: { accepted: 1, ids: [id] } }),
  },
  "Mutation.recordMevMetrics": {
    access: "write",
    query: "mutation($inputs: [MevMetricInput!]!) { recordMevMetrics(inputs: $inputs) { accepted ids } }",
    variables: (id) => ({
      inputs: [
        { metricId: id, outcome: "LANDED", protection: "NONE", tipLamports: 0, timestamp: new Date().toISOString() },
      ],
    }),
    expected: (id) => ({ recordMevMetrics: { accepted: 1, ids: [id] } }),
  },
  "Mutation.upsertAlertRule": {
    access: "admin",
    // A rule that never fires (the alert tests below count events exactly).
    query:
      "mutation($id: String!) { upsertAlertRule(input: { id: $id, kind: QUEUE_DEPTH, threshold: 1e9 }) { id kind threshold } }",
    variables: (id) => ({ id }),
    expected: (id) => ({ upsertAlertRule: { id, kind: "QUEUE_DEPTH", threshold: 1e9 } }),
  },
  "Mutation.deleteAlertRule": {
    access: "admin",
    query: "mutation($id: String!) { deleteAlertRule(id: $id) }",
    variables: (id) => ({ id }),
    expected: () => ({ deleteAlertRule: false }),
  },
  "Subscription.liveMetrics": {
    access: "read",
    query: "subscription { liveMetrics(windowSeconds: 60) { windowSeconds } }",
    expected: () => ({ liveMetrics: { windowSeconds: 60 } }),
  },
  "Subscription.tradeRecorded": {
    access: "read",
    query: "subscription($s: String!) { tradeRecorded(filter: { strategy: $s }) { strategy } }",
    variables: (id) => ({ s: id }),
    expected: (id) => ({ tradeRecorded: { strategy: id } }),
  },
  "Subscription.alerts": {
    access: "read",
    query: "subscription { alerts { ruleId kind state } }",
    expected: (id) => ({ alerts: { ruleId: id, kind: "NO_TRADES", state: "FIRING" } }),
  },
};

const INTROSPECTION: Record<string, { query: string; expected: Data }> = {
  __schema: { query: "{ __schema { queryType { name } } }", expected: { __schema: { queryType: { name: "Query" } } } },
  __type: { query: '{ __type(name: "Trade") { name } }', expected: { __type: { name: "Trade" } } },
};

const schemaRootFields = (): string[] =>
  [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    type ? Object.keys(type.getFields()).map((field) => `${type.name}.${field}`) : [],
  );

const NEEDS: Record<Access, string> = {
  read: "a reader, writer or admin key",
  write: "a writer or admin key",
  admin: "an admin key",
};

let serial = 0;
const uniqueId = (label: string) => `guard-${label.replace(/\s/g, "-")}-${++serial}`;

interface HttpAnswer {
  status: number;
  body: { data?: Data | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** A lean-path POST: JSON in and out, no Origin. */
async function post(url: string, key: string | undefined, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() } as HttpAnswer;
}

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});

interface Subscription {
  /** The first payload (data or errors) the server sends. */
  first: Promise<FormattedExecutionResult<Data, unknown>>;
  /** The close event, if the server closes the connection. */
  closed: Promise<{ code: number; reason: string }>;
  received: () => boolean;
  stop: () => void;
}

function subscribe(url: string, key: string | undefined, query: string, variables?: Record<string, unknown>) {
  let closedWith!: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((done) => {
    closedWith = done;
  });
  const client = createClient({
    url: `${url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key === undefined ? {} : { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closedWith({ code, reason });
      },
    },
  });
  clients.push(client);
  let got = false;
  let stop = () => {};
  const first = new Promise<Awaited<Subscription["first"]>>((done, fail) => {
    stop = client.subscribe<Data>(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (value) => {
          got = true;
          done(value);
        },
        error: (error) => fail(error),
        complete: () => {},
      },
    );
  });
  first.catch(() => {}); // refusals are read from `closed`
  return { first, closed, received: () => got, stop } satisfies Subscription;
}

/** Polls `check` every 20 ms until it is true or `ms` have passed. */
async function within(ms: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

/** Counts the alert engine's listeners (the `alerts` subscriptions registered). */
function countAlertListeners(t: TestApp): () => number {
  const alerts = t.app.services.alerts;
  const listen = alerts.listen.bind(alerts);
  let count = 0;
  alerts.listen = (listener) => {
    const off = listen(listener);
    count++;
    return () => {
      count--;
      off();
    };
  };
  return () => count;
}

let prod: TestApp; // NODE_ENV=production, writers may read
let writeOnly: TestApp; // NODE_ENV=production, WRITER_CAN_READ=off
let dev: TestApp; // NODE_ENV unset
const alertListeners = new Map<TestApp, () => number>();

beforeAll(async () => {
  const env = { API_KEYS, ALERT_INTERVAL_MS: "0", LIVE_POLL_INTERVAL_MS: "50" };
  [prod, writeOnly, dev] = await Promise.all([
    startTestApp("guard-prod", { ...env, NODE_ENV: "production" }),
    startTestApp("guard-wo", { ...env, NODE_ENV: "production", WRITER_CAN_READ: "off" }),
    startTestApp("guard-dev", env),
  ]);
  for (const t of [prod, writeOnly]) alertListeners.set(t, countAlertListeners(t));
});

/** Whether `role` may use a field of `access` (the test's own reading of the role table). */
function allowed(role: Role, access: Access, writerCanRead: boolean): boolean {
  if (role === "admin") return true;
  if (access === "read") return role === "reader" || (role === "writer" && writerCanRead);
  return access === "write" && role === "writer";
}

/** What a refused role is told it needs. */
function needs(access: Access, writerCanRead: boolean): string {
  // With WRITER_CAN_READ=off a writer key does not let its holder read: the message must not
  // offer one.
  if (access === "read" && !writerCanRead) return "a reader or admin key";
  return NEEDS[access];
}

/** Runs an allowed operation (queries and mutations over HTTP, subscriptions over WebSockets). */
async function expectAllowed(t: TestApp, caller: Role, coordinate: string) {
  const operation = OPERATIONS[coordinate] as Operation;
  const id = uniqueId(caller);
  const variables = operation.variables?.(id);
  if (!coordinate.startsWith("Subscription.")) {
    const before = { ...t.app.handler.counts };
    const answer = await post(t.url, KEYS[caller], operation.query, variables);
    expect(answer).toEqual({ status: 200, body: { data: operation.expected(id, t, caller) } });
    // Answered by the lean path, not handed to Yoga.
    expect(t.app.handler.counts).toEqual({ fast: before.fast + 1, yoga: before.yoga });
    return;
  }
  const subscribers = t.app.services.live.stats().subscribers;
  /** Stops the subscription and waits until the server has let it go. */
  const stopped = async (sub: Subscription) => {
    sub.stop();
    await eventually(
      async () => (t.app.services.live.stats().subscribers === subscribers ? true : undefined),
      "the subscription to leave its poller",
    );
  };
  if (coordinate === "Subscription.liveMetrics") {
    const sub = subscribe(t.url, KEYS[caller], operation.query, variables);
    expect(await sub.first).toEqual({ data: operation.expected(id, t, caller) });
    await stopped(sub);
    return;
  }
  if (coordinate === "Subscription.tradeRecorded") {
    const sub = subscribe(t.url, KEYS[caller], operation.query, variables);
    await eventually(
      async () => (t.app.services.live.stats().subscribers === subscribers + 1 ? true : undefined),
      "the subscription to join its poller",
    );
    // Another key records the trade. A trade that was visible before the poller's first poll
    // counts as already there (not news), so record again until one is streamed.
    const recorder = caller === "writer" ? "admin" : "writer";
    const deadline = Date.now() + 15_000;
    let n = 0;
    while (!sub.received()) {
      if (Date.now() > deadline) throw new Error("no tradeRecorded event within 15 s");
      const recorded = await post(
        t.url,
        KEYS[recorder],
        "mutation($input: TradeInput!) { recordTrade(input: $input, durability: COMMITTED) { accepted } }",
        { input: { ...makeTrade(`${id}-${n++}`), strategy: id } },
      );
      expect(recorded).toEqual({ status: 200, body: { data: { recordTrade: { accepted: 1 } } } });
      await within(1_000, sub.received);
    }
    expect(await sub.first).toEqual({ data: operation.expected(id, t, caller) });
    await stopped(sub);
    return;
  }
  if (coordinate === "Subscription.alerts") {
    const listeners = alertListeners.get(t) as () => number;
    const before = listeners();
    const sub = subscribe(t.url, KEYS[caller], operation.query, variables);
    await eventually(async () => (listeners() === before + 1 ? true : undefined), "the alerts listener");
    // An admin adds a rule that fires at once: NO_TRADES with threshold 0 (seconds since the last
    // trade > 0), never resolving (hysteresis 0). Earlier rules are already firing: no event.
    const upserted = await post(
      t.url,
      KEYS.admin,
      "mutation($id: String!) { upsertAlertRule(input: { id: $id, kind: NO_TRADES, threshold: 0, hysteresis: 0 }) { id } }",
      { id },
    );
    expect(upserted).toEqual({ status: 200, body: { data: { upsertAlertRule: { id } } } });
    const events = await t.app.services.alerts.evaluate();
    expect(events.map((e) => [e.ruleId, e.kind, e.state])).toEqual([[id, "NO_TRADES", "FIRING"]]);
    expect(await sub.first).toEqual({ data: operation.expected(id, t, caller) });
    sub.stop();
    await eventually(async () => (listeners() === before ? true : undefined), "the alerts listener to go");
    return;
  }
  throw new Error(`no way to run ${coordinate}`);
}

/** Sends a refused operation and checks the exact refusal. */
async function expectRefused(t: TestApp, caller: Caller, coordinate: string, message: string) {
  const operation = OPERATIONS[coordinate] as Operation;
  const variables = operation.variables?.(uniqueId(caller));
  const key = keyOf(caller);
  if (!coordinate.startsWith("Subscription.")) {
    const answer = await post(t.url, key, operation.query, variables);
    const unauthenticated = caller === "no key" || caller === "wrong key";
    expect(answer).toEqual({
      status: unauthenticated ? 401 : 403,
      body: { errors: [{ message, extensions: { code: unauthenticated ? "UNAUTHENTICATED" : "FORBIDDEN" } }] },
    });
    return;
  }
  const sub = subscribe(t.url, key, operation.query, variables);
  if (caller === "no key") {
    expect(await sub.closed).toEqual({ code: 4401, reason: "Unauthorized: API key required" });
  } else if (caller === "wrong key") {
    expect(await sub.closed).toEqual({ code: 4403, reason: "Forbidden" });
  } else {
    // The same error, word for word, as the HTTP answer's body.
    expect(await sub.first).toEqual({ errors: [{ message, extensions: { code: "FORBIDDEN" } }] });
  }
  expect(sub.received()).toBe(caller !== "no key" && caller !== "wrong key");
  sub.stop();
}

const refusalOf = (caller: Caller, field: string, access: Access, writerCanRead: boolean): string =>
  caller === "no key"
    ? MISSING_KEY_MESSAGE
    : caller === "wrong key"
      ? INVALID_KEY_MESSAGE
      : `The key ${NAMES[caller]} (role ${caller}) may not use ${field}: it needs ${needs(access, writerCanRead)}`;

describe("the role table", () => {
  it("this test has one operation for every root field of the schema, and no other", () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual(schemaRootFields().sort());
  });

  it("ROOT_FIELD_ACCESS names exactly the schema's root fields, with the access this test expects", () => {
    expect(Object.keys(ROOT_FIELD_ACCESS).sort()).toEqual(schemaRootFields().sort());
    expect(ROOT_FIELD_ACCESS).toEqual(
      Object.fromEntries(Object.entries(OPERATIONS).map(([coordinate, op]) => [coordinate, op.access])),
    );
  });
});

describe("every caller × every root field (production, WRITER_CAN_READ on)", () => {
  for (const caller of CALLERS) {
    for (const [coordinate, operation] of Object.entries(OPERATIONS)) {
      const field = coordinate.split(".")[1] as string;
      const role = caller === "no key" || caller === "wrong key" ? undefined : caller;
      if (role && allowed(role, operation.access, true)) {
        it(`${caller} may use ${coordinate}`, () => expectAllowed(prod, role, coordinate));
      } else {
        const message = refusalOf(caller, field, operation.access, true);
        it(`${caller}: ${coordinate} is refused with "${message}"`, () =>
          expectRefused(prod, caller, coordinate, message));
      }
    }
  }
});

describe("a writer with WRITER_CAN_READ=off", () => {
  for (const [coordinate, operation] of Object.entries(OPERATIONS)) {
    const field = coordinate.split(".")[1] as string;
    if (allowed("writer", operation.access, false)) {
      it(`may still use ${coordinate}`, () => expectAllowed(writeOnly, "writer", coordinate));
    } else {
      const message = refusalOf("writer", field, operation.access, false);
      it(`is refused ${coordinate} with "${message}"`, () => expectRefused(writeOnly, "writer", coordinate, message));
    }
  }
  it("leaves readers and admins reading", async () => {
    for (const role of ["reader", "admin"] as const) await expectAllowed(writeOnly, role, "Query.trades");
  });
});

describe("introspection", () => {
  for (const caller of CALLERS) {
    for (const [field, { query, expected }] of Object.entries(INTROSPECTION)) {
      if (caller === "admin") {
        it(`admin may use ${field} in production`, async () => {
          expect(await post(prod.url, KEYS.admin, query)).toEqual({ status: 200, body: { data: expected } });
        });
        continue;
      }
      const unauthenticated = caller === "no key" || caller === "wrong key";
      const message = unauthenticated
        ? refusalOf(caller, field, "admin", true)
        : `The key ${NAMES[caller]} (role ${caller}) may not use ${field}: it needs an admin key in production`;
      it(`${caller}: ${field} is refused in production with "${message}"`, async () => {
        expect(await post(prod.url, keyOf(caller), query)).toEqual({
          status: unauthenticated ? 401 : 403,
          body: { errors: [{ message, extensions: { code: unauthenticated ? "UNAUTHENTICATED" : "FORBIDDEN" } }] },
        });
      });
    }
  }

  it("is open to every key outside production, and still needs a key", async () => {
    for (const role of ["reader", "writer", "admin"] as const) {
      for (const { query, expected } of Object.values(INTROSPECTION)) {
        expect(await post(dev.url, KEYS[role], query)).toEqual({ status: 200, body: { data: expected } });
      }
    }
    expect(await post(dev.url, undefined, INTROSPECTION.__schema?.query as string)).toEqual({
      status: 401,
      body: { errors: [{ message: MISSING_KEY_MESSAGE, extensions: { code: "UNAUTHENTICATED" } }] },
    });
  });
});

describe("field suggestions", () => {
  const MISSPELLED = "{ trade { tradeId } }";
  const BARE = 'Cannot query field "trade" on type "Query".';
  const SUGGESTED = `${BARE} Did you mean "trades"?`;
  const invalid = (message: string) => ({
    status: 200,
    body: {
      errors: [{ message, locations: [{ line: 1, column: 3 }], extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }],
    },
  });

  it("are hidden from readers and writers in production", async () => {
    for (const role of ["reader", "writer"] as const) {
      expect(await post(prod.url, KEYS[role], MISSPELLED)).toEqual(invalid(BARE));
    }
  });

  it("are shown to an admin in production (and a reader's hidden answer is not served to the admin)", async () => {
    expect(await post(prod.url, KEYS.reader, MISSPELLED)).toEqual(invalid(BARE));
    expect(await post(prod.url, KEYS.admin, MISSPELLED)).toEqual(invalid(SUGGESTED));
    expect(await post(prod.url, KEYS.reader, MISSPELLED)).toEqual(invalid(BARE));
  });

  it("are shown to every key outside production", async () => {
    for (const role of ["reader", "writer", "admin"] as const) {
      expect(await post(dev.url, KEYS[role], MISSPELLED)).toEqual(invalid(SUGGESTED));
    }
  });
});
