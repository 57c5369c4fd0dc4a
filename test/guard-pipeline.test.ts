// Each stage of the request pipeline (docs/security.md), on each transport: the lean POST path,
// Yoga's own handler and graphql-ws, against the real server and QuestDB.
import { request as httpRequest } from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app.ts";
import { makeTrade } from "./support/load.ts";
import { firstError, send, TRANSPORTS, upgradeStatus, wsClient } from "./support/transports.ts";

const WRITER = "bot-key-0123456789abcdef";
const READER = "dash-key-0123456789abcdef";
const ADMIN = "ops-key-0123456789abcdef";
const KEYS = `bot:writer:${WRITER},dash:reader:${READER},ops:admin:${ADMIN}`;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("guard", {
    API_KEYS: KEYS,
    ALLOWED_ORIGINS: "https://dash.example.com",
    MAX_BODY_BYTES: "16384",
    MAX_TOKENS: "200",
    MAX_DEPTH: "4",
    MAX_ALIASES: "3",
    MAX_DIRECTIVES: "3",
    MAX_ROOT_FIELDS: "2",
    MAX_COST: "20000",
    MAX_RESPONSE_BYTES: "3000",
    MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
    MAX_SUBSCRIPTIONS_PER_KEY: "3",
    ALERT_INTERVAL_MS: "0",
  });
});

/** A raw HTTP request (fetch cannot set Host), answering status and parsed body. */
function raw(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const { port } = new URL(url);
  return new Promise((done, fail) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "POST",
        path: options.path ?? "/graphql",
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: res.headers }),
        );
      },
    );
    req.on("error", fail);
    req.end(options.body);
  });
}

const TYPENAME = JSON.stringify({ query: "{ __typename }" });
const json = { "content-type": "application/json", accept: "application/json" };

describe("stage 1: transport checks, before the key is looked at", () => {
  it("refuses a foreign Host header on every path with 403, and on WebSocket upgrades", async () => {
    for (const path of ["/graphql", "/health", "/metrics"]) {
      const r = await raw(t.url, { path, headers: { ...json, host: "evil.example:4000" }, body: TYPENAME });
      expect(r.status, path).toBe(403);
      expect(JSON.parse(r.body).errors[0]).toEqual({
        message:
          "Request refused: the Host header names a host this server does not serve; add the name to ALLOWED_HOSTS",
        extensions: { code: "FORBIDDEN" },
      });
    }
    expect(await upgradeStatus(t.url, { host: "evil.example" })).toBe(403);
    expect(await upgradeStatus(t.url, { host: "localhost", authorization: `Bearer ${READER}` })).toBe(101);
  });

  it("refuses a foreign Origin with 403 and no CORS headers; allows the configured origin and the API's own", async () => {
    const foreign = await raw(t.url, {
      headers: { ...json, host: new URL(t.url).host, origin: "https://evil.example" },
      body: TYPENAME,
    });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).errors[0].message).toBe(
      "Cross-origin request refused: this Origin is not allowed; add it to ALLOWED_ORIGINS to let its pages call the API",
    );
    expect(foreign.headers["access-control-allow-origin"]).toBeUndefined();

    const allowed = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { ...json, origin: "https://dash.example.com", authorization: `Bearer ${READER}` },
      body: TYPENAME,
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://dash.example.com");
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();

    const own = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { ...json, origin: t.url, authorization: `Bearer ${READER}` },
      body: TYPENAME,
    });
    expect(own.status).toBe(200);

    expect(await upgradeStatus(t.url, { origin: "https://evil.example" })).toBe(403);
    expect(await upgradeStatus(t.url, { origin: "https://dash.example.com" })).toBe(101);
  });

  it("refuses preflight-less browser requests without the CSRF header (form and text bodies, GET)", async () => {
    for (const contentType of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"]) {
      const r = await raw(t.url, {
        headers: { "content-type": contentType, authorization: `Bearer ${WRITER}` },
        body: "query=mutation{recordTrade}",
      });
      expect(r.status, contentType).toBe(403);
      expect(JSON.parse(r.body).errors[0].message).toBe(
        "Request refused (CSRF prevention): send the header `x-graphql-yoga-csrf: 1` with GET requests and with form or text/plain bodies, or post JSON",
      );
    }
    const get = (headers: Record<string, string>) =>
      fetch(`${t.url}/graphql?query=${encodeURIComponent("{ __typename }")}`, {
        headers: { accept: "application/json", authorization: `Bearer ${READER}`, ...headers },
      });
    expect((await get({})).status).toBe(403);
    const allowed = await get({ "x-graphql-yoga-csrf": "1" });
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ data: { __typename: "Query" } });
  });

  it("refuses a body over MAX_BODY_BYTES with 413, declared or streamed, and a WebSocket message over it", async () => {
    const big = JSON.stringify({ query: `{ __typename } # ${"x".repeat(17000)}` });
    const declared = await fetch(`${t.url}/graphql`, {
      method: "POST",
      headers: { ...json, authorization: `Bearer ${READER}` },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect((await declared.json()).errors[0]).toEqual({
      message: `The request body (bytes) is ${Buffer.byteLength(big)}, above the limit of 16384 (MAX_BODY_BYTES)`,
      extensions: { code: "PAYLOAD_TOO_LARGE", limit: "MAX_BODY_BYTES", max: 16384, actual: Buffer.byteLength(big) },
    });
    const streamed = await raw(t.url, {
      headers: { ...json, authorization: `Bearer ${READER}`, "transfer-encoding": "chunked" },
      body: big,
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).errors[0].message).toBe(
      "The request body (bytes) is more than 16384, above the limit of 16384 (MAX_BODY_BYTES)",
    );
    const ws = await send(t.url, "ws", { query: `{ __typename } # ${"x".repeat(17000)}` }, { key: READER });
    expect(ws.closeCode).toBe(1009); // Message Too Big
  });
});

describe("every path but the probes passes the pipeline", () => {
  it("refuses a keyless request on variants of the endpoint Yoga would serve, and on unknown paths, before parsing", async () => {
    for (const path of ["/graphql/", "//graphql", "/graphql?x=1", "/other"]) {
      const r = await raw(t.url, { path, headers: { ...json, host: new URL(t.url).host }, body: TYPENAME });
      expect(r.status, path).toBe(401);
      expect(JSON.parse(r.body).errors[0].message, path).toBe(
        "Authentication required: send the header `Authorization: Bearer <API key>` (over WebSockets, the connection parameter `authorization`)",
      );
    }
    for (const path of ["/health", "/ready", "/metrics"]) {
      expect((await raw(t.url, { method: "GET", path, headers: { host: new URL(t.url).host } })).status, path).toBe(
        200,
      );
    }
  });
});

describe.each(TRANSPORTS)("over %s", (transport) => {
  it("stage 2: refuses a missing or wrong key before parsing anything", async () => {
    // Not even GraphQL: a caller without a key learns nothing about the document.
    const missing = await send(t.url, transport, { query: "{ this is not graphql" });
    const wrong = await send(t.url, transport, { query: "{ this is not graphql" }, { key: "wrong-key-0123456789abc" });
    if (transport === "ws") {
      expect(missing.closeCode).toBe(4401);
      expect(wrong.closeCode).toBe(4403);
      return;
    }
    expect(missing.status).toBe(401);
    expect(firstError(missing)).toEqual({
      code: "UNAUTHENTICATED",
      message:
        "Authentication required: send the header `Authorization: Bearer <API key>` (over WebSockets, the connection parameter `authorization`)",
    });
    expect(wrong.status).toBe(401);
    expect(firstError(wrong)).toEqual({
      code: "UNAUTHENTICATED",
      message: "Authentication failed: the API key is not valid",
    });
    expect(JSON.stringify(wrong)).not.toContain("wrong-key");
  });

  it("stage 4: refuses a document over MAX_TOKENS", async () => {
    const r = await send(t.url, transport, { query: `{ ${"__typename ".repeat(250)}}` }, { key: READER });
    expect(firstError(r)).toEqual({
      code: "LIMIT_EXCEEDED",
      message: "The number of tokens in the query is more than 200, above the limit of 200 (MAX_TOKENS)",
    });
    // GraphQL over HTTP: 200 for application/json, 400 for application/graphql-response+json.
    if (transport !== "ws") expect(r.status).toBe(transport === "lean" ? 200 : 400);
  });

  it("stage 5: refuses depth, aliases, directives and root fields over their limits, naming each", async () => {
    const cases: [string, string][] = [
      [
        "{ trades(first: 1) { edges { node { latencyMetrics { stage } } } } }",
        "The query's depth is 5, above the limit of 4 (MAX_DEPTH)",
      ],
      [
        "{ a: alertRules { id } b: alertRules { id } c: alertRules { id } d: alertRules { id } }",
        "The number of aliases is 4, above the limit of 3 (MAX_ALIASES)",
      ],
      [
        "{ __typename @include(if: true) @include(if: true) @skip(if: false) @skip(if: false) }",
        "The number of directives is 4, above the limit of 3 (MAX_DIRECTIVES)",
      ],
      [
        '{ alertRules { id } trades(first: 1) { pageInfo { hasNextPage } } strategyPerformance(range: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }) { trades } }',
        "The number of root fields is 3, above the limit of 2 (MAX_ROOT_FIELDS)",
      ],
    ];
    for (const [query, message] of cases) {
      const r = await send(t.url, transport, { query }, { key: READER });
      expect(
        r.errors?.map((e) => [e.extensions?.code, e.message]),
        query,
      ).toContainEqual(["LIMIT_EXCEEDED", message]);
    }
  });

  it("stage 6: refuses a role that may not run the operation, then a cost over MAX_COST (variables applied)", async () => {
    const record = await send(
      t.url,
      transport,
      {
        query: "mutation($t: TradeInput!) { recordTrade(input: $t) { accepted } }",
        variables: { t: makeTrade("guard-role") },
      },
      { key: READER },
    );
    expect(firstError(record)).toEqual({
      code: "FORBIDDEN",
      message: "The key dash (role reader) may not use recordTrade: it needs a writer or admin key",
    });
    const costly = await send(
      t.url,
      transport,
      {
        query: "query($n: Int!) { trades(first: $n) { nodes { tradeId latencyMetrics { stage latencyUs } } } }",
        variables: { n: 1000 },
      },
      { key: READER },
    );
    // trades 1 + 10 (statement) + 1,000 × (nodes 1 + tradeId 1 + latencyMetrics (1 + 10 + 10 × 2)) = 33,011
    expect(firstError(costly)).toEqual({
      code: "LIMIT_EXCEEDED",
      message:
        "The query's cost is 33011, above the limit of 20000 (MAX_COST); ask for fewer items (first), a shorter range, a larger bucket or fewer groupBy keys (docs/security.md, Query cost)",
    });
    const cheap = await send(
      t.url,
      transport,
      { query: "query($n: Int!) { trades(first: $n) { nodes { tradeId } } }", variables: { n: 10 } },
      { key: READER },
    );
    expect(cheap.errors).toBeUndefined();
  });

  it("stage 7: replaces an answer over MAX_RESPONSE_BYTES with RESPONSE_TOO_LARGE, naming its size", async () => {
    const strategy = `big-${transport}`;
    const trades = Array.from({ length: 40 }, (_, i) => ({
      ...makeTrade(`${strategy}-${String(i).padStart(2, "0")}`, new Date(Date.now() - (40 - i) * 1000).toISOString()),
      strategy,
    }));
    const recorded = await send(
      t.url,
      "lean",
      {
        query: "mutation($t: [TradeInput!]!) { recordTrades(inputs: $t, durability: COMMITTED) { accepted } }",
        variables: { t: trades },
      },
      { key: WRITER },
    );
    expect(recorded.data).toEqual({ recordTrades: { accepted: 40 } });
    const query =
      "query($s: String!) { trades(first: 40, filter: { strategy: $s }) { nodes { tradeId strategy baseToken quoteToken action } } }";
    // The answer the server would have sent: newest first.
    const nodes = [...trades].reverse().map((trade) => ({
      tradeId: trade.tradeId,
      strategy,
      baseToken: "SOL",
      quoteToken: "USDC",
      action: "BUY",
    }));
    const answer = JSON.stringify({ data: { trades: { nodes } } });
    // The 40 rows become visible together (one commit); until then the smaller answer is served.
    let outcome = await send(t.url, transport, { query, variables: { s: strategy } }, { key: READER });
    for (let i = 0; i < 200 && outcome.data; i++) {
      outcome = await send(t.url, transport, { query, variables: { s: strategy } }, { key: READER });
    }
    expect(firstError(outcome)).toEqual({
      code: "RESPONSE_TOO_LARGE",
      message: `The answer's size (bytes) is ${answer.length}, above the limit of 3000 (MAX_RESPONSE_BYTES); narrow the query (fewer fields, a smaller page, a shorter range)`,
    });
  });
});

describe("WebSocket operations per connection and per key", () => {
  const LIVE = "subscription { liveMetrics(windowSeconds: 60) { trades } }";
  const open = (client: ReturnType<typeof wsClient>) =>
    new Promise<{ error?: { message: string; extensions?: { code?: string } }; stop: () => void }>((done) => {
      const stop = client.subscribe(
        { query: LIVE },
        {
          next: () => done({ stop }),
          error: (error) => done({ error: (error as { message: string }[])[0] as { message: string }, stop }),
          complete: () => {},
        },
      );
    });

  it("refuses the operation past MAX_SUBSCRIPTIONS_PER_CONNECTION and past MAX_SUBSCRIPTIONS_PER_KEY, and frees a slot on completion", async () => {
    const first = wsClient(t.url, ADMIN);
    const a = await open(first);
    const b = await open(first);
    expect([a.error, b.error]).toEqual([undefined, undefined]);
    expect((await open(first)).error?.message).toBe(
      "The number of operations on this connection is 3, above the limit of 2 (MAX_SUBSCRIPTIONS_PER_CONNECTION)",
    );
    const second = wsClient(t.url, ADMIN);
    const c = await open(second);
    expect(c.error).toBeUndefined();
    expect((await open(second)).error?.message).toBe(
      "The number of operations of the key ops is 4, above the limit of 3 (MAX_SUBSCRIPTIONS_PER_KEY)",
    );
    // Another key is not held back by this one.
    const other = await open(wsClient(t.url, READER));
    expect(other.error).toBeUndefined();
    other.stop();
    // Completing one frees its slot for the key.
    a.stop();
    let again = await open(second);
    for (let i = 0; i < 50 && again.error; i++) again = await open(second);
    expect(again.error).toBeUndefined();
  });
});

describe("stage 3: the key's rate limit", () => {
  let r: TestApp;
  const keyOf = (transport: string) => `${transport}-key-0123456789abcdef`;
  beforeAll(async () => {
    r = await startTestApp("ratelimit", {
      API_KEYS: ["lean", "yoga", "ws", "other-lean", "other-yoga", "other-ws"]
        .map((name) => `${name}:reader:${keyOf(name)}`)
        .join(","),
      // One request a second, two at once.
      RATE_LIMIT_PER_SECOND: "1",
      RATE_LIMIT_BURST: "2",
      ALERT_INTERVAL_MS: "0",
    });
  });

  it.each(TRANSPORTS)(
    "refuses the request past the key's burst over %s, naming the key and the wait; other keys go on",
    async (transport) => {
      const query = { query: "{ __typename }" };
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await send(r.url, transport, query, { key: keyOf(transport) }));
      expect(answers.slice(0, 2).map((a) => a.data)).toEqual([{ __typename: "Query" }, { __typename: "Query" }]);
      const limited = answers[2];
      expect(limited?.errors?.[0]?.extensions?.code).toBe("RATE_LIMITED");
      expect(limited?.errors?.[0]?.message).toMatch(
        new RegExp(
          `^Rate limit: the key ${transport} sent more than 1 requests per second \\(RATE_LIMIT_PER_SECOND\\); retry after \\d+ ms$`,
        ),
      );
      if (transport !== "ws") {
        expect(limited?.status).toBe(429);
        expect(Number(limited?.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      expect((await send(r.url, transport, query, { key: keyOf(`other-${transport}`) })).data).toEqual({
        __typename: "Query",
      });
    },
  );
});
