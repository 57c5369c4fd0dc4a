// Pure units of the request pipeline: key parsing and lookup, the rate limiter (fake clock),
// the safe-default checks of the configuration, and the cost model.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "graphql";
import { describe, expect, it } from "vitest";
import { type ConfigError, loadConfig } from "../src/config.ts";
import { bucketCount, operationCost } from "../src/guard/cost.ts";
import { createKeyRing, digestOf, OPEN_CALLER, parseApiKeys } from "../src/guard/keys.ts";
import { ROOT_FIELD_ACCESS, roleMay } from "../src/guard/operation.ts";
import { createRateLimiter } from "../src/guard/rate-limit.ts";
import { schema } from "../src/schema/index.ts";

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe("API keys", () => {
  it("reads name:role:key entries, bare keys as writers, ADMIN_API_KEYS as admins, and a file with keys or digests", () => {
    const dir = mkdtempSync(join(tmpdir(), "keys-"));
    const file = join(dir, "keys");
    writeFileSync(
      file,
      `# name role key\nops admin ops-secret-0123456789\n\nreports reader sha256:${digestOf("reports-secret-0123456789").toString("hex")}\n`,
    );
    const problems: string[] = [];
    const keys = parseApiKeys(
      {
        apiKeys: "bot-1:writer:bot-secret-0123456789, legacy-secret-0123456789",
        adminApiKeys: "root-secret-0123456789",
        apiKeysFile: file,
      },
      problems,
    );
    expect(problems).toEqual([]);
    expect(keys.map(({ name, role }) => [name, role])).toEqual([
      ["bot-1", "writer"],
      ["key-2", "writer"],
      ["admin-1", "admin"],
      ["ops", "admin"],
      ["reports", "reader"],
    ]);
    const ring = createKeyRing(keys);
    expect(ring.identify("bot-secret-0123456789")).toEqual({ name: "bot-1", role: "writer" });
    expect(ring.identify("reports-secret-0123456789")).toEqual({ name: "reports", role: "reader" });
    expect(ring.identify("root-secret-0123456789")).toEqual({ name: "admin-1", role: "admin" });
    expect(ring.identify("nope-secret-0123456789")).toBe("invalid");
    expect(ring.identify("x".repeat(1_000_000))).toBe("invalid");
    expect(ring.identify(undefined)).toBe("missing");
    expect(ring.identify("")).toBe("missing");
    // The digest is stored, never the key.
    expect(JSON.stringify(keys)).not.toContain("bot-secret");
  });

  it("names each bad entry without echoing its key", () => {
    const problems = problemsOf({
      API_KEYS:
        "bot:writer:short, bad name:reader:long-enough-secret-01, x:superuser:long-enough-secret-02, a:reader:dup-secret-0123456789, b:reader:dup-secret-0123456789, a:writer:other-secret-0123456789",
      API_KEYS_FILE: "/nonexistent/keys",
    });
    expect(problems).toEqual([
      "API_KEYS: entry #1: the key must be 16 to 256 printable characters without spaces",
      "API_KEYS: entry #2: the name must be 1 to 64 letters, digits and _ . - (starting with a letter or digit)",
      "API_KEYS: entry #3: the role must be one of reader, writer, admin",
      "API_KEYS: entry #5: the same key is configured twice",
      "API_KEYS: entry #6: the name a is used twice",
      'API_KEYS_FILE="/nonexistent/keys": cannot be read (ENOENT)',
    ]);
    for (const secret of ["short", "long-enough-secret", "dup-secret", "other-secret"]) {
      expect(problems.join("\n")).not.toContain(secret);
    }
  });

  it("without keys every caller is the open caller", () => {
    expect(createKeyRing([]).identify(undefined)).toBe(OPEN_CALLER);
    expect(createKeyRing([]).identify("anything-at-all-123")).toBe(OPEN_CALLER);
  });
});

describe("safe defaults", () => {
  it("refuses a non-loopback HOST without keys, naming API_KEYS, and accepts it with keys", () => {
    expect(problemsOf({ HOST: "0.0.0.0" })).toEqual([
      'HOST="0.0.0.0": without API keys the server listens only on a loopback address (127.0.0.1, ::1, localhost); set API_KEYS or API_KEYS_FILE to listen on 0.0.0.0',
    ]);
    expect(problemsOf({ HOST: "192.168.1.5" })).toHaveLength(1);
    for (const host of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(problemsOf({ HOST: host })).toEqual([]);
    expect(problemsOf({ HOST: "0.0.0.0", API_KEYS: "bot:writer:bot-secret-0123456789" })).toEqual([]);
  });

  it("accepts loopback names and HOST in the Host header by default, more with ALLOWED_HOSTS, any with *", () => {
    expect(loadConfig({}).allowedHosts).toEqual(["localhost", "127.0.0.1", "::1"]);
    expect(loadConfig({ HOST: "10.0.0.7", API_KEYS: "bot:writer:bot-secret-0123456789" }).allowedHosts).toEqual([
      "localhost",
      "127.0.0.1",
      "::1",
      "10.0.0.7",
    ]);
    expect(loadConfig({ ALLOWED_HOSTS: "api.example.com, API2.example.com." }).allowedHosts).toEqual([
      "localhost",
      "127.0.0.1",
      "::1",
      "api.example.com",
      "api2.example.com",
    ]);
    expect(loadConfig({ ALLOWED_HOSTS: "*" }).allowedHosts).toBe("*");
    expect(
      problemsOf({
        ALLOWED_HOSTS: "https://api.example.com",
        ALLOWED_ORIGINS: "dash.example.com,https://ok.example.com/",
      }),
    ).toEqual([
      'ALLOWED_HOSTS: "https://api.example.com" is not a host name (names only, no scheme or port; * for any)',
      'ALLOWED_ORIGINS: "dash.example.com" is not an origin (scheme://host[:port], e.g. https://dash.example.com)',
    ]);
  });
});

describe("roles", () => {
  it("admin may do everything, writers record (and read unless turned off), readers read", () => {
    const table = (["reader", "writer", "admin"] as const).map((role) =>
      (["read", "write", "admin"] as const).map((access) => [
        roleMay(role, access, true),
        roleMay(role, access, false),
      ]),
    );
    expect(table).toEqual([
      [
        [true, true],
        [false, false],
        [false, false],
      ],
      [
        [true, false],
        [true, true],
        [false, false],
      ],
      [
        [true, true],
        [true, true],
        [true, true],
      ],
    ]);
  });

  it("names every root field of the schema", () => {
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      Object.keys(type?.getFields() ?? {}).map((field) => `${type?.name}.${field}`),
    );
    expect(Object.keys(ROOT_FIELD_ACCESS).sort()).toEqual(fields.sort());
  });
});

describe("the rate limiter", () => {
  it("allows the burst at once, then the rate, per key, and says how long to wait", () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([
      undefined,
      undefined,
      undefined,
      500,
    ]);
    expect(limiter.take("b")).toBeUndefined();
    now = 499;
    expect(limiter.take("a")).toBe(1);
    now = 500;
    expect(limiter.take("a")).toBeUndefined();
    now = 10_000; // refills to the burst, not beyond
    expect([limiter.take("a"), limiter.take("a"), limiter.take("a"), limiter.take("a")]).toEqual([
      undefined,
      undefined,
      undefined,
      500,
    ]);
    expect(createRateLimiter({ perSecond: 0, burst: 1 }).take("a")).toBeUndefined();
  });
});

describe("the query cost", () => {
  const cost = (query: string, variables: Record<string, unknown> = {}) => {
    const document = parse(query);
    const operation = document.definitions[0];
    if (operation?.kind !== "OperationDefinition") throw new Error("no operation");
    return operationCost(schema, document, operation, variables);
  };

  it("counts buckets from the range and bucket (a clipped edge included)", () => {
    const day = { from: 0n, to: 86_400_000_000n };
    expect(bucketCount(day, "HOUR")).toBe(25);
    expect(bucketCount(day, "MINUTE")).toBe(1_441);
    expect(bucketCount(day, null)).toBe(1);
    expect(bucketCount({ from: 5n, to: 5n }, "HOUR")).toBe(1);
  });

  it("multiplies by first, buckets and groups, with variables applied, and costs a fragment by what it returns", () => {
    expect(cost("{ trades(first: 10) { nodes { tradeId } } }")).toBe(11 + 10 * 2);
    expect(cost("query($n: Int!) { trades(first: $n) { nodes { tradeId } } }", { n: 100 })).toBe(11 + 100 * 2);
    const stats = `query($b: TimeBucket) { tradeStats(range: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }, bucket: $b, groupBy: [PAIR, STRATEGY]) { totals { count } buckets { count } } }`;
    // totals: 100 groups × (1); buckets: 25 × 100 × (1)
    expect(cost(stats, { b: "HOUR" })).toBe(11 + (1 + 100) + (1 + 2_500));
    // Variables arrive raw (JSON) and are coerced first: a range as ISO strings.
    const ranged = `query($r: TimeRange!) { tradeStats(range: $r, bucket: HOUR) { buckets { count } } }`;
    expect(cost(ranged, { r: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" } })).toBe(11 + 1 + 25);
    expect(cost(ranged, { r: { from: "not a time", to: 5 } })).toBe(11 + 1 + 1);
    const spread = `{ trades(first: 1) { ...A ...A ...A } } fragment A on TradeConnection { nodes { ...B ...B } } fragment B on Trade { tradeId }`;
    expect(cost(spread)).toBe(11 + 1 * 3 * (1 + 2 * 1));
  });
});
