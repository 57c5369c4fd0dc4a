// The one place that reads process.env. Every variable is validated at start-up and a bad
// value stops the process with one message that lists every bad variable (STYLE.md habit 2).

import { hostname } from "node:os";
import { type ApiKey, parseApiKeys } from "./guard/keys.ts";

/** The default largest trades page (MAX_PAGE_SIZE). */
export const MAX_PAGE_SIZE_DEFAULT = 1_000;

import { SPOOL_MODES, SPOOL_SEGMENT_BYTES, type SpoolMode } from "./ingest/spool.ts";
import { type AlertRule, type AlertRuleInput, checkAlertRule, normaliseRule } from "./live/alerts.ts";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface QuestDbAddress {
  /** ILP over HTTP and the REST API, e.g. 127.0.0.1:9000. */
  httpHost: string;
  httpPort: number;
  /** Optional basic-auth credentials for ILP over HTTP (QuestDB Enterprise). */
  httpUser: string | undefined;
  httpPassword: string | undefined;
  /** PGWire, e.g. 127.0.0.1:8812. */
  pgHost: string;
  pgPort: number;
  pgUser: string;
  pgPassword: string;
  pgDatabase: string;
}

export interface EmbeddedQuestDb {
  /** Folder for the jar and the server's data, relative to the working directory. */
  dir: string;
  httpPort: number;
  pgPort: number;
  /** The java executable that runs it. */
  java: string;
}

export interface Config {
  host: string;
  port: number;
  /** Set when QUESTDB_HTTP_ADDR and QUESTDB_PG_ADDR are given; otherwise `embedded` is used. */
  questdb: QuestDbAddress | undefined;
  embedded: EmbeddedQuestDb;
  tablePrefix: string;
  batchIntervalMs: number;
  batchMaxRows: number;
  retentionDays: number;
  pgPoolSize: number;
  /** Connections for light statements (pages, links, probes, live pollers). */
  pgLightPoolSize: number;
  queryTimeoutMs: number;
  /** Byte budget of the query-result cache; 0 turns caching off (identical concurrent queries still share one run). */
  queryCacheMaxBytes: number;
  logLevel: LogLevel;
  /** Largest list a bulk record mutation accepts. */
  maxRecordsPerRequest: number;
  /** How far in the future an incoming timestamp may be. */
  maxClockSkewMs: number;
  /** Where rows QuestDB refused are written. */
  deadLetterDir: string;
  /** Rows held in memory (queued + in flight) before record mutations answer QUEUE_FULL. */
  maxQueueRows: number;
  /** fsync (default), write (no sync: survives the process, not the host) or off (no spool). */
  spoolMode: SpoolMode;
  /** Where accepted rows are kept until QuestDB has them (SPOOL_DIR). */
  spoolDir: string;
  /** Bytes the spool may hold before record mutations answer QUEUE_FULL (SPOOL_MAX_MB). */
  spoolMaxBytes: number;
  /** How often the server's own health is sampled into system_metrics; 0 turns it off. */
  systemMetricsIntervalMs: number;
  /** This instance's name in system_metrics. */
  instanceId: string;
  /** API keys (API_KEYS, ADMIN_API_KEYS, API_KEYS_FILE) as names, roles and digests; none: open (loopback only). */
  keys: ApiKey[];
  /** Whether writer keys may also read (queries and subscriptions). */
  writerCanRead: boolean;
  /** NODE_ENV=production: introspection and field suggestions for admin keys only. */
  production: boolean;
  /** Host header names accepted (lower case, no port); "*" accepts any. */
  allowedHosts: string[] | "*";
  /** Browser origins allowed to call the API (CORS and the Origin check), besides the API's own. */
  allowedOrigins: string[];
  /** Requests that a browser sends without a preflight need the x-graphql-yoga-csrf header. */
  csrfPrevention: boolean;
  /** The request pipeline's limits (docs/security.md). */
  limits: RequestLimits;
  /** Admission control: requests running and waiting at once (docs/security.md, "Load"). */
  load: LoadLimits;
  /** Worker threads that run writers' big record mutations off the main thread (0: none). */
  writeWorkers: number;
  /** Bodies at least this long are run in a write worker. */
  writeWorkerMinBytes: number;
  /** Heap cap of each write worker (MB). */
  writeWorkerHeapMb: number;
  /** Worker threads that run the statistics queries (0: the main thread does). */
  analyticsWorkers: number;
  /** Heap cap of each analytics worker (MB). */
  analyticsWorkerHeapMb: number;
  /** How often live pollers check for new commits. */
  livePollIntervalMs: number;
  /** false: one poller per subscriber (the benchmark's baseline only). */
  liveCohorts: boolean;
  /** Whether this instance's acknowledged flushes start live polls at once (else the ticks find them). */
  livePoke: boolean;
  /** How far behind the newest streamed trade a late row is still streamed by tradeRecorded. */
  liveLateRowsMs: number;
  /** Messages queued for one tradeRecorded subscriber before it is disconnected (4429). */
  liveMaxQueued: number;
  /** Alert rules from configuration (ALERT_RULES, JSON). */
  alertRules: AlertRule[];
  /** How often alert rules are evaluated; 0 turns evaluation off (and out of the election). */
  alertIntervalMs: number;
  /** How often rules are read back from alert_rules and the heartbeat written; 0: never. */
  alertSyncMs: number;
  /** How long a heartbeat keeps an instance in the election of the rules' evaluator. */
  alertLeaseMs: number;
}

export interface RequestLimits {
  maxBodyBytes: number;
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxRootFields: number;
  maxCost: number;
  maxResponseBytes: number;
  /** Largest `first` of a trades page. */
  maxPageSize: number;
  /** Most rows an analytics answer (buckets × groups) may hold, and most rows one statement reads into Node. */
  maxResultRows: number;
  maxSubscriptionsPerConnection: number;
  maxSubscriptionsPerKey: number;
  /** Requests (HTTP) and operations (WebSocket) per second per key; 0 turns limiting off. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
}

export interface LoadLimits {
  maxConcurrentRequests: number;
  maxConcurrentWrites: number;
  maxWaitingRequests: number;
  /** Writes waiting for a slot: few, so that a fleet of bots gets a fast OVERLOADED, not a long wait. */
  maxWaitingWrites: number;
  maxWaitMs: number;
  /** Body bytes admitted at once, over both lanes. */
  maxInflightBytes: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const IDENTIFIER = /^[a-z][a-z0-9_]{0,30}$/;

/** Parses and validates the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const address = (name: string): { host: string; port: number } | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    const match = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(raw);
    const port = match ? Number(match[2]) : 0;
    if (!match || port < 1 || port > 65535) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected host:port, e.g. 127.0.0.1:9000`);
      return undefined;
    }
    return { host: match[1] as string, port };
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (["on", "true", "1", "yes"].includes(raw)) return true;
    if (["off", "false", "0", "no"].includes(raw)) return false;
    problems.push(`${name}=${JSON.stringify(raw)}: expected on or off`);
    return fallback;
  };

  const host = read("HOST") ?? "127.0.0.1";
  const port = int("PORT", 4000, 0, 65535);

  const http = address("QUESTDB_HTTP_ADDR");
  const pgAddr = address("QUESTDB_PG_ADDR");
  const httpGiven = read("QUESTDB_HTTP_ADDR") !== undefined;
  const pgGiven = read("QUESTDB_PG_ADDR") !== undefined;
  if (httpGiven !== pgGiven) {
    problems.push(
      `${httpGiven ? "QUESTDB_PG_ADDR" : "QUESTDB_HTTP_ADDR"}: required when ${httpGiven ? "QUESTDB_HTTP_ADDR" : "QUESTDB_PG_ADDR"} is set (set both to use an external QuestDB, neither for the embedded one)`,
    );
  }
  const httpUser = read("QUESTDB_HTTP_USER");
  const httpPassword = read("QUESTDB_HTTP_PASSWORD");
  if ((httpUser === undefined) !== (httpPassword === undefined)) {
    problems.push("QUESTDB_HTTP_USER and QUESTDB_HTTP_PASSWORD: set both or neither");
  }
  const questdb: QuestDbAddress | undefined =
    http && pgAddr
      ? {
          httpHost: http.host,
          httpPort: http.port,
          httpUser,
          httpPassword,
          pgHost: pgAddr.host,
          pgPort: pgAddr.port,
          pgUser: read("QUESTDB_PG_USER") ?? "admin",
          pgPassword: read("QUESTDB_PG_PASSWORD") ?? "quest",
          pgDatabase: read("QUESTDB_PG_DATABASE") ?? "qdb",
        }
      : undefined;

  const embedded: EmbeddedQuestDb = {
    dir: read("QUESTDB_EMBEDDED_DIR") ?? ".questdb",
    httpPort: int("QUESTDB_EMBEDDED_HTTP_PORT", 9000, 1, 65535),
    pgPort: int("QUESTDB_EMBEDDED_PG_PORT", 8812, 1, 65535),
    java: read("QUESTDB_JAVA") ?? "java",
  };

  const tablePrefix = read("QUESTDB_TABLE_PREFIX") ?? "";
  if (tablePrefix !== "" && !IDENTIFIER.test(tablePrefix)) {
    problems.push(
      `QUESTDB_TABLE_PREFIX=${JSON.stringify(tablePrefix)}: expected lower-case letters, digits and _ (starting with a letter, at most 31 characters)`,
    );
  }

  const instanceId = read("INSTANCE_ID") ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(instanceId)) {
    problems.push(`INSTANCE_ID=${JSON.stringify(instanceId)}: expected 1 to 64 letters, digits and _ . : -`);
  }

  const cohortsRaw = (read("LIVE_COHORTS") ?? "on").toLowerCase();
  if (cohortsRaw !== "on" && cohortsRaw !== "off")
    problems.push(`LIVE_COHORTS=${JSON.stringify(cohortsRaw)}: expected on or off`);
  const liveCohorts = cohortsRaw !== "off";
  const pokeRaw = (read("LIVE_POKE") ?? "on").toLowerCase();
  if (pokeRaw !== "on" && pokeRaw !== "off") problems.push(`LIVE_POKE=${JSON.stringify(pokeRaw)}: expected on or off`);
  const livePoke = pokeRaw !== "off";

  const alertRules: AlertRule[] = [];
  const rulesRaw = read("ALERT_RULES");
  if (rulesRaw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rulesRaw);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed)) problems.push("ALERT_RULES: expected a JSON array of rules (see README)");
    else {
      parsed.forEach((rule: AlertRuleInput, i) => {
        const ruleProblems = typeof rule === "object" && rule !== null ? checkAlertRule(rule) : ["expected an object"];
        for (const p of ruleProblems) problems.push(`ALERT_RULES[${i}].${p}`);
        if (ruleProblems.length === 0) alertRules.push(normaliseRule(rule));
      });
    }
  }

  const keys = parseApiKeys(
    { apiKeys: read("API_KEYS"), adminApiKeys: read("ADMIN_API_KEYS"), apiKeysFile: read("API_KEYS_FILE") },
    problems,
  );
  // Safe default: a server without keys is reachable from this machine only.
  if (keys.length === 0 && !isLoopback(host)) {
    problems.push(
      `HOST=${JSON.stringify(host)}: without API keys the server listens only on a loopback address (127.0.0.1, ::1, localhost); set API_KEYS or API_KEYS_FILE to listen on ${host}`,
    );
  }
  const hostsRaw = read("ALLOWED_HOSTS");
  let allowedHosts: string[] | "*";
  if (hostsRaw === "*") allowedHosts = "*";
  else {
    allowedHosts = ["localhost", "127.0.0.1", "::1"];
    if (!isWildcard(host)) allowedHosts.push(hostName(host));
    for (const entry of list(hostsRaw)) {
      if (!/^(\[[0-9a-f:]+\]|[a-z0-9.-]+|[0-9a-f:]+)$/i.test(entry)) {
        problems.push(
          `ALLOWED_HOSTS: ${JSON.stringify(entry)} is not a host name (names only, no scheme or port; * for any)`,
        );
      } else allowedHosts.push(hostName(entry));
    }
    allowedHosts = [...new Set(allowedHosts)];
  }
  const allowedOrigins: string[] = [];
  for (const entry of list(read("ALLOWED_ORIGINS"))) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      if ((url.protocol === "http:" || url.protocol === "https:") && url.origin === entry.replace(/\/$/, "")) {
        origin = url.origin;
      }
    } catch {}
    if (origin === undefined) {
      problems.push(
        `ALLOWED_ORIGINS: ${JSON.stringify(entry)} is not an origin (scheme://host[:port], e.g. https://dash.example.com)`,
      );
    } else allowedOrigins.push(origin);
  }

  const logLevelRaw = read("LOG_LEVEL") ?? "info";
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw.toLowerCase());
  if (!logLevel) problems.push(`LOG_LEVEL=${JSON.stringify(logLevelRaw)}: expected one of ${LOG_LEVELS.join(", ")}`);

  const spoolModeRaw = (read("SPOOL_MODE") ?? "fsync").toLowerCase();
  const spoolMode = SPOOL_MODES.find((mode) => mode === spoolModeRaw);
  if (!spoolMode)
    problems.push(`SPOOL_MODE=${JSON.stringify(spoolModeRaw)}: expected one of ${SPOOL_MODES.join(", ")}`);

  const config: Config = {
    host,
    port,
    questdb,
    embedded,
    tablePrefix,
    batchIntervalMs: int("BATCH_INTERVAL_MS", 100, 1, 60_000),
    batchMaxRows: int("BATCH_MAX_ROWS", 10_000, 1, 1_000_000),
    retentionDays: int("RETENTION_DAYS", 30, 1, 36_500),
    pgPoolSize: int("PG_POOL_SIZE", 2, 1, 100),
    pgLightPoolSize: int("PG_LIGHT_POOL_SIZE", 3, 1, 100),
    queryTimeoutMs: int("QUERY_TIMEOUT_MS", 10_000, 100, 600_000),
    queryCacheMaxBytes: int("QUERY_CACHE_MAX_BYTES", 64 * 1024 * 1024, 0, 64 * 1024 * 1024 * 1024),
    logLevel: logLevel ?? "info",
    maxRecordsPerRequest: int("MAX_RECORDS_PER_REQUEST", 10_000, 1, 1_000_000),
    maxClockSkewMs: int("MAX_CLOCK_SKEW_MS", 60_000, 0, 86_400_000),
    deadLetterDir: read("DEAD_LETTER_DIR") ?? "dead-letter",
    maxQueueRows: int("MAX_QUEUE_ROWS", 100_000, 1, 100_000_000),
    spoolMode: spoolMode ?? "fsync",
    spoolDir: read("SPOOL_DIR") ?? "spool",
    spoolMaxBytes: int("SPOOL_MAX_MB", 1024, 16, 1024 * 1024) * 1024 * 1024,
    systemMetricsIntervalMs: int("SYSTEM_METRICS_INTERVAL_MS", 10_000, 0, 3_600_000),
    instanceId,
    keys,
    writerCanRead: bool("WRITER_CAN_READ", true),
    production: (env.NODE_ENV ?? "").trim() === "production",
    allowedHosts,
    allowedOrigins,
    csrfPrevention: bool("CSRF_PREVENTION", true),
    writeWorkers: int("WRITE_WORKERS", 1, 0, 64),
    writeWorkerMinBytes: int("WRITE_WORKER_MIN_BYTES", 64 * 1024, 0, 1024 * 1024 * 1024),
    writeWorkerHeapMb: int("WRITE_WORKER_HEAP_MB", 96, 16, 16_384),
    analyticsWorkers: int("ANALYTICS_WORKERS", 1, 0, 64),
    analyticsWorkerHeapMb: int("ANALYTICS_WORKER_HEAP_MB", 192, 32, 16_384),
    load: {
      maxConcurrentRequests: int("MAX_CONCURRENT_REQUESTS", 64, 1, 100_000),
      maxConcurrentWrites: int("MAX_CONCURRENT_WRITES", 2, 1, 100_000),
      maxWaitingRequests: int("MAX_WAITING_REQUESTS", 512, 0, 1_000_000),
      maxWaitingWrites: int("MAX_WAITING_WRITES", 8, 0, 1_000_000),
      maxWaitMs: int("MAX_WAIT_MS", 2_000, 1, 600_000),
      maxInflightBytes: int("MAX_INFLIGHT_BODY_BYTES", 16 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    },
    limits: {
      maxBodyBytes: int("MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxTokens: int("MAX_TOKENS", 2_000, 10, 1_000_000),
      maxDepth: int("MAX_DEPTH", 10, 2, 1_000),
      maxAliases: int("MAX_ALIASES", 15, 0, 10_000),
      maxDirectives: int("MAX_DIRECTIVES", 50, 0, 10_000),
      maxRootFields: int("MAX_ROOT_FIELDS", 20, 1, 10_000),
      maxCost: int("MAX_COST", 500_000, 1, 1_000_000_000),
      maxResponseBytes: int("MAX_RESPONSE_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
      maxPageSize: int("MAX_PAGE_SIZE", MAX_PAGE_SIZE_DEFAULT, 1, 100_000),
      maxResultRows: int("MAX_RESULT_ROWS", 50_000, 100, 10_000_000),
      maxSubscriptionsPerConnection: int("MAX_SUBSCRIPTIONS_PER_CONNECTION", 100, 1, 1_000_000),
      maxSubscriptionsPerKey: int("MAX_SUBSCRIPTIONS_PER_KEY", 10_000, 1, 10_000_000),
      rateLimitPerSecond: int("RATE_LIMIT_PER_SECOND", 5_000, 0, 10_000_000),
      rateLimitBurst: int("RATE_LIMIT_BURST", 10_000, 1, 100_000_000),
    },
    livePollIntervalMs: int("LIVE_POLL_INTERVAL_MS", 250, 10, 60_000),
    liveCohorts,
    livePoke,
    liveLateRowsMs: int("LIVE_LATE_ROWS_MS", 2_000, 0, 600_000),
    liveMaxQueued: int("LIVE_MAX_QUEUED", 10_000, 1, 10_000_000),
    alertRules,
    alertIntervalMs: int("ALERT_INTERVAL_MS", 5_000, 0, 3_600_000),
    alertSyncMs: int("ALERT_SYNC_MS", 1_000, 0, 60_000),
    alertLeaseMs: int("ALERT_LEASE_MS", 5_000, 1_000, 600_000),
  };
  // A lease must outlive two heartbeats, or a live leader would lose it between two of them.
  if (config.alertSyncMs > 0 && config.alertLeaseMs < 2 * config.alertSyncMs) {
    problems.push(
      `ALERT_LEASE_MS=${config.alertLeaseMs}: must be at least twice ALERT_SYNC_MS (${config.alertSyncMs}), or a live leader loses its lease between two heartbeats`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

const list = (raw: string | undefined): string[] =>
  (raw ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");

/** A host name as the Host check compares it: lower case, without brackets or a trailing dot. */
export const hostName = (host: string): string =>
  host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");

const isWildcard = (host: string) => ["0.0.0.0", "::", "[::]"].includes(host);

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  const name = hostName(host);
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

/** Node's own memory beyond its heaps: young generation, code, ILP and socket buffers (measured). */
export const NODE_OVERHEAD_MB = 128;
/** A write worker's memory beyond its heap cap (its isolate, code and buffers). */
export const WORKER_OVERHEAD_MB = 16;
/** ILP bytes of a queued row, outside the heap (a trade is about 505 bytes). */
export const QUEUED_ROW_OFF_HEAP_BYTES = 520;

/**
 * The RSS the process stays under with `npm start` (README, MAX_HEAP_MB): the main heap cap, each
 * write worker's heap cap, the request bodies admitted at once, the queued rows' ILP bytes, a
 * spool segment and Node's own overhead. Every term is a cap the process enforces, so the sum is a bound.
 */
export function memoryBoundMb(
  config: Pick<
    Config,
    | "writeWorkers"
    | "writeWorkerHeapMb"
    | "analyticsWorkers"
    | "analyticsWorkerHeapMb"
    | "maxQueueRows"
    | "load"
    | "spoolMode"
  >,
  heapMb: number,
): number {
  const mb = 1024 * 1024;
  return Math.ceil(
    heapMb +
      config.writeWorkers * (config.writeWorkerHeapMb + WORKER_OVERHEAD_MB) +
      config.analyticsWorkers * (config.analyticsWorkerHeapMb + WORKER_OVERHEAD_MB) +
      config.load.maxInflightBytes / mb +
      (config.maxQueueRows * QUEUED_ROW_OFF_HEAP_BYTES) / mb +
      // Replaying the spool, queued rows are views into the segment they were read from: one more.
      (config.spoolMode === "off" ? 0 : SPOOL_SEGMENT_BYTES / mb) +
      NODE_OVERHEAD_MB,
  );
}
