// Alert rules shared by the instances on one QuestDB (issue 15, points 1 and 2): rules live in
// alert_rules and reach every instance within 2 s, outlive restarts and are seeded by
// ALERT_RULES; one instance at a time (the oldest live one) evaluates the SQL rules, so each
// firing and resolution is stored once and reaches every `alerts` subscriber once, and the
// firing state survives a restart and a change of leader. Two apps in this process on the same
// tables and a shared QuestDB; test/instances.test.ts does it again with three processes.
import { createClient } from "graphql-ws";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, exec, uniquePrefix } from "./support/questdb.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Fast elections for the test: a heartbeat every 200 ms, a lease of 1 s. */
const FAST = { ALERT_INTERVAL_MS: "300", ALERT_SYNC_MS: "200", ALERT_LEASE_MS: "1000" };

async function instance(prefix: string, id: string, env: Record<string, string> = {}): Promise<TestApp> {
  const t = await startTestApp(id, { QUESTDB_TABLE_PREFIX: prefix, INSTANCE_ID: id, ...env });
  cleanups.push(() => t.app.stop());
  return t;
}

async function gql<T>(t: TestApp, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`${t.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data as T;
}

const ruleIds = async (t: TestApp) =>
  (await gql<{ alertRules: { id: string; threshold: number }[] }>(t, "{ alertRules { id threshold } }")).alertRules;

interface Received {
  ruleId: string;
  state: string;
  eventId: string;
}

/** An `alerts` subscriber on an instance, collecting what it receives. */
async function subscriber(t: TestApp): Promise<Received[]> {
  const client = createClient({
    url: `${t.url.replace("http", "ws")}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  cleanups.push(async () => client.dispose());
  const received: Received[] = [];
  const connected = new Promise<void>((done) => client.on("connected", () => done()));
  client.subscribe<{ alerts: Received }>(
    { query: "subscription { alerts { ruleId state eventId } }" },
    {
      next: ({ data }) => {
        if (data) received.push(data.alerts);
      },
      error: (error) => received.push({ ruleId: "error", state: String(error), eventId: "" }),
      complete: () => {},
    },
  );
  await connected;
  // The subscription is registered once its first poll of alert_events ran.
  await new Promise((done) => setTimeout(done, 300));
  return received;
}

/** Records trades through `t`, `sandwiched` of them SANDWICHED, and waits for QuestDB to have them. */
async function trades(t: TestApp, label: string, n: number, sandwiched: number) {
  const inputs = Array.from({ length: n }, (_, i) => ({
    ...makeTrade(`${label}-${i}`),
    mevStatus: i < sandwiched ? "SANDWICHED" : "PROTECTED",
  }));
  await gql(
    t,
    "mutation($inputs: [TradeInput!]!) { recordTrades(inputs: $inputs, durability: COMMITTED) { accepted } }",
    {
      inputs,
    },
  );
}

const storedEvents = async (prefix: string) =>
  (await exec(`SELECT rule_id, state, instance FROM ${prefix}alert_events ORDER BY timestamp`)).dataset as string[][];

describe("alert rules shared through QuestDB", () => {
  it("a rule made, changed or deleted on one instance is applied by the other within 2 s, and a new instance finds the rules and the ALERT_RULES seeds", async () => {
    const prefix = uniquePrefix("rules");
    // Default ALERT_SYNC_MS (1 s): the 2 s promise of the README.
    const a = await instance(prefix, "rules-a", { ALERT_INTERVAL_MS: "1000" });
    const b = await instance(prefix, "rules-b", { ALERT_INTERVAL_MS: "1000" });
    const within2s = async (check: () => Promise<boolean>, what: string) => {
      const started = performance.now();
      await eventually(async () => ((await check()) ? true : undefined), what, 5_000);
      // 2 s by design (a read-back every ALERT_SYNC_MS = 1 s, plus its statement); 1 s more of
      // tolerance for a CI machine whose two cores run other test files meanwhile.
      expect(performance.now() - started, what).toBeLessThan(3_000);
    };

    await gql(
      a,
      'mutation { upsertAlertRule(input: { id: "p99", kind: LATENCY_P99, stage: "submit", threshold: 250 }) { id } }',
    );
    expect(await ruleIds(a)).toEqual([{ id: "p99", threshold: 250 }]);
    await within2s(async () => (await ruleIds(b)).some((r) => r.id === "p99"), "the rule on b");

    await gql(
      b,
      'mutation { upsertAlertRule(input: { id: "p99", kind: LATENCY_P99, stage: "submit", threshold: 400 }) { id } }',
    );
    await within2s(async () => (await ruleIds(a))[0]?.threshold === 400, "the change on a");

    await gql(a, 'mutation { upsertAlertRule(input: { id: "gone", kind: NO_TRADES, threshold: 60 }) { id } }');
    await within2s(async () => (await ruleIds(b)).length === 2, "the second rule on b");
    expect(await gql(b, 'mutation { deleteAlertRule(id: "gone") }')).toEqual({ deleteAlertRule: true });
    await within2s(async () => (await ruleIds(a)).length === 1, "the deletion on a");
    expect(await gql(a, 'mutation { deleteAlertRule(id: "gone") }')).toEqual({ deleteAlertRule: false });

    // Both stop; a third instance on the same tables, with seeds: the deleted rule stays deleted,
    // the rule changed through the API keeps the API's threshold, a new seed joins them.
    await a.app.stop();
    await b.app.stop();
    const c = await instance(prefix, "rules-c", {
      ALERT_RULES: JSON.stringify([
        { id: "gone", kind: "NO_TRADES", threshold: 60 },
        { id: "p99", kind: "LATENCY_P99", stage: "submit", threshold: 100 },
        { id: "seeded", kind: "QUEUE_DEPTH", threshold: 5_000 },
      ]),
    });
    expect((await ruleIds(c)).sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual([
      { id: "p99", threshold: 400 },
      { id: "seeded", threshold: 5_000 },
    ]);
  });
});

describe("each alert once", () => {
  it("two instances: one evaluates, the FIRING is stored once and received once on each; the other takes over when the leader stops and resolves the rule without firing it again", async () => {
    const prefix = uniquePrefix("once");
    const rules = JSON.stringify([{ id: "sandwiched", kind: "SANDWICH_RATE", windowSeconds: 3_600, threshold: 0.4 }]);
    const a = await instance(prefix, "once-a", { ...FAST, ALERT_RULES: rules });
    const b = await instance(prefix, "once-b", { ...FAST, ALERT_RULES: rules });
    // The older instance leads; the other does not.
    await eventually(async () => (a.app.services.alerts.isLeader() ? true : undefined), "a leads");
    expect(b.app.services.alerts.isLeader()).toBe(false);
    const onA = await subscriber(a);
    const onB = await subscriber(b);

    await trades(b, "hot", 10, 5); // 50 % > 40 %
    await eventually(async () => (onA.length > 0 && onB.length > 0 ? true : undefined), "FIRING on both", 10_000);
    // Several more evaluation turns: hysteresis, and b never evaluates.
    await new Promise((done) => setTimeout(done, 1_500));
    expect(onA.map((e) => [e.ruleId, e.state])).toEqual([["sandwiched", "FIRING"]]);
    expect(onB).toEqual(onA);
    expect(await storedEvents(prefix)).toEqual([["sandwiched", "FIRING", "once-a"]]);

    // The leader stops; b takes over within the lease and knows the rule is firing.
    await a.app.stop();
    await eventually(async () => (b.app.services.alerts.isLeader() ? true : undefined), "b leads", 5_000);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await storedEvents(prefix)).toEqual([["sandwiched", "FIRING", "once-a"]]);
    await trades(b, "calm", 200, 0); // 5 / 210 < 36 %
    await eventually(async () => (onB.length === 2 ? true : undefined), "RESOLVED on b", 10_000);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(onB.map((e) => [e.ruleId, e.state])).toEqual([
      ["sandwiched", "FIRING"],
      ["sandwiched", "RESOLVED"],
    ]);
    expect(new Set(onB.map((e) => e.eventId)).size).toBe(2);
    expect(await storedEvents(prefix)).toEqual([
      ["sandwiched", "FIRING", "once-a"],
      ["sandwiched", "RESOLVED", "once-b"],
    ]);
  });

  it("a restarted instance takes up the firing state it stored: no second FIRING while the value stays high", async () => {
    const prefix = uniquePrefix("restart");
    const rules = JSON.stringify([{ id: "sandwiched", kind: "SANDWICH_RATE", windowSeconds: 3_600, threshold: 0.4 }]);
    const first = await instance(prefix, "restart-1", { ...FAST, ALERT_RULES: rules });
    await trades(first, "hot", 10, 5);
    await eventually(async () => ((await storedEvents(prefix)).length === 1 ? true : undefined), "FIRING stored");
    await first.app.stop();

    const second = await instance(prefix, "restart-2", { ...FAST, ALERT_RULES: rules });
    await eventually(async () => (second.app.services.alerts.isLeader() ? true : undefined), "the new one leads");
    expect(await second.app.services.alerts.evaluate()).toEqual([]);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await storedEvents(prefix)).toEqual([["sandwiched", "FIRING", "restart-1"]]);
    await trades(second, "calm", 200, 0);
    await eventually(async () => ((await storedEvents(prefix)).length === 2 ? true : undefined), "RESOLVED stored");
    expect((await storedEvents(prefix))[1]).toEqual(["sandwiched", "RESOLVED", "restart-2"]);
  });
});
