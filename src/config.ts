// The one place that reads process.env. Every variable is validated at start-up and a bad
// value stops the process with one message that lists every bad variable (STYLE.md habit 2).

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

  const logLevelRaw = read("LOG_LEVEL") ?? "info";
  const logLevel = LOG_LEVELS.find((level) => level === logLevelRaw.toLowerCase());
  if (!logLevel) problems.push(`LOG_LEVEL=${JSON.stringify(logLevelRaw)}: expected one of ${LOG_LEVELS.join(", ")}`);

  const config: Config = {
    host,
    port,
    questdb,
    embedded,
    tablePrefix,
    batchIntervalMs: int("BATCH_INTERVAL_MS", 100, 1, 60_000),
    batchMaxRows: int("BATCH_MAX_ROWS", 10_000, 1, 1_000_000),
    retentionDays: int("RETENTION_DAYS", 30, 1, 36_500),
    pgPoolSize: int("PG_POOL_SIZE", 5, 1, 100),
    queryTimeoutMs: int("QUERY_TIMEOUT_MS", 10_000, 100, 600_000),
    queryCacheMaxBytes: int("QUERY_CACHE_MAX_BYTES", 64 * 1024 * 1024, 0, 64 * 1024 * 1024 * 1024),
    logLevel: logLevel ?? "info",
    maxRecordsPerRequest: int("MAX_RECORDS_PER_REQUEST", 10_000, 1, 1_000_000),
    maxClockSkewMs: int("MAX_CLOCK_SKEW_MS", 60_000, 0, 86_400_000),
    deadLetterDir: read("DEAD_LETTER_DIR") ?? "dead-letter",
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
