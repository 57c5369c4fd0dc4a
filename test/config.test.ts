import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";

describe("configuration", () => {
  it("has documented defaults and uses the embedded QuestDB when no address is set", () => {
    expect(loadConfig({ INSTANCE_ID: "api-1" })).toEqual({
      host: "127.0.0.1",
      port: 4000,
      questdb: undefined,
      embedded: { dir: ".questdb", httpPort: 9000, pgPort: 8812, java: "java" },
      tablePrefix: "",
      batchIntervalMs: 100,
      batchMaxRows: 10_000,
      retentionDays: 30,
      pgPoolSize: 2,
      pgLightPoolSize: 3,
      queryTimeoutMs: 10_000,
      queryCacheMaxBytes: 67_108_864,
      logLevel: "info",
      maxRecordsPerRequest: 10_000,
      maxClockSkewMs: 60_000,
      deadLetterDir: "dead-letter",
      maxQueueRows: 100_000,
      spoolMode: "fsync",
      spoolDir: "spool",
      spoolMaxBytes: 1024 * 1024 * 1024,
      systemMetricsIntervalMs: 10_000,
      instanceId: "api-1",
      keys: [],
      writerCanRead: true,
      production: false,
      allowedHosts: ["localhost", "127.0.0.1", "::1"],
      allowedOrigins: [],
      csrfPrevention: true,
      writeWorkers: 1,
      writeWorkerMinBytes: 65_536,
      writeWorkerHeapMb: 96,
      analyticsWorkers: 1,
      analyticsWorkerHeapMb: 192,
      load: {
        maxConcurrentRequests: 64,
        maxConcurrentWrites: 2,
        maxWaitingRequests: 512,
        maxWaitingWrites: 8,
        maxWaitMs: 2_000,
        maxInflightBytes: 16_777_216,
      },
      limits: {
        maxBodyBytes: 8_388_608,
        maxTokens: 2_000,
        maxDepth: 10,
        maxAliases: 15,
        maxDirectives: 50,
        maxRootFields: 20,
        maxCost: 500_000,
        maxResponseBytes: 16_777_216,
        maxPageSize: 1_000,
        maxResultRows: 50_000,
        maxSubscriptionsPerConnection: 100,
        maxSubscriptionsPerKey: 10_000,
        rateLimitPerSecond: 5_000,
        rateLimitBurst: 10_000,
      },
      livePollIntervalMs: 250,
      liveCohorts: true,
      livePoke: true,
      liveLateRowsMs: 2_000,
      liveMaxQueued: 10_000,
      alertRules: [],
      alertIntervalMs: 5_000,
      alertSyncMs: 1_000,
      alertLeaseMs: 5_000,
    });
  });

  it("reads an external QuestDB's addresses and credentials", () => {
    const config = loadConfig({
      QUESTDB_HTTP_ADDR: "db.internal:9000",
      QUESTDB_PG_ADDR: "db.internal:8812",
      QUESTDB_PG_USER: "reader",
      QUESTDB_PG_PASSWORD: "s3cret",
    });
    expect(config.questdb).toEqual({
      httpHost: "db.internal",
      httpPort: 9000,
      httpUser: undefined,
      httpPassword: undefined,
      pgHost: "db.internal",
      pgPort: 8812,
      pgUser: "reader",
      pgPassword: "s3cret",
      pgDatabase: "qdb",
    });
  });

  it("names every bad variable and what it expects in one error, without echoing passwords", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "http",
        BATCH_INTERVAL_MS: "0",
        RETENTION_DAYS: "-3",
        PG_POOL_SIZE: "2.5",
        QUERY_CACHE_MAX_BYTES: "-1",
        LOG_LEVEL: "loud",
        SPOOL_MODE: "sometimes",
        SPOOL_MAX_MB: "1",
        QUESTDB_HTTP_ADDR: "localhost",
        QUESTDB_PG_PASSWORD: "hunter2",
        QUESTDB_TABLE_PREFIX: "Bad-Prefix",
        API_KEYS: "a-good-key-of-20-chars, short-secret",
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'PORT="http": expected an integer from 0 to 65535',
      'QUESTDB_HTTP_ADDR="localhost": expected host:port, e.g. 127.0.0.1:9000',
      "QUESTDB_PG_ADDR: required when QUESTDB_HTTP_ADDR is set (set both to use an external QuestDB, neither for the embedded one)",
      'QUESTDB_TABLE_PREFIX="Bad-Prefix": expected lower-case letters, digits and _ (starting with a letter, at most 31 characters)',
      "API_KEYS: entry #2: the key must be 16 to 256 printable characters without spaces",
      'LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent',
      'SPOOL_MODE="sometimes": expected one of fsync, write, off',
      'BATCH_INTERVAL_MS="0": expected an integer from 1 to 60000',
      'RETENTION_DAYS="-3": expected an integer from 1 to 36500',
      'PG_POOL_SIZE="2.5": expected an integer from 1 to 100',
      'QUERY_CACHE_MAX_BYTES="-1": expected an integer from 0 to 68719476736',
      'SPOOL_MAX_MB="1": expected an integer from 16 to 1048576',
    ]);
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as Error).message).not.toContain("short-secret");
  });

  it("refuses an alert lease shorter than two heartbeats", () => {
    const error = (() => {
      try {
        loadConfig({ ALERT_SYNC_MS: "1000", ALERT_LEASE_MS: "1500" });
      } catch (e) {
        return e;
      }
    })();
    expect((error as ConfigError).problems).toEqual([
      "ALERT_LEASE_MS=1500: must be at least twice ALERT_SYNC_MS (1000), or a live leader loses its lease between two heartbeats",
    ]);
    expect(loadConfig({ ALERT_SYNC_MS: "1000", ALERT_LEASE_MS: "2000" }).alertLeaseMs).toBe(2000);
  });
});
