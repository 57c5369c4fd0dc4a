// Entry point: configuration → (embedded QuestDB) → buildApp → listen; SIGTERM/SIGINT → stop.
import { getHeapStatistics } from "node:v8";
import { buildApp } from "./app.ts";
import { ConfigError, loadConfig, memoryBoundMb } from "./config.ts";
import { QUEUED_ROW_BYTES } from "./ingest/batch-writer.ts";
import { createLogger } from "./logger.ts";
import { startEmbeddedQuestDb } from "./questdb/embedded.ts";
import type { LocalQuestDb } from "./questdb/local-server.ts";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee README.md and .env.example.\n`);
      process.exit(1);
    }
    throw error;
  }
  // Refuse a queue bound the heap cannot hold (npm start caps the heap so that RSS stays bounded;
  // the bound is logged below and documented in the README, MAX_HEAP_MB). Counting the queue's
  // ILP bytes, which live outside the heap, leaves room for them too.
  const heapMb = getHeapStatistics().heap_size_limit / 1024 / 1024;
  const queueMb = (config.maxQueueRows * QUEUED_ROW_BYTES) / 1024 / 1024;
  if (queueMb > heapMb / 2) {
    process.stderr.write(
      `Invalid configuration:\n  - MAX_QUEUE_ROWS=${config.maxQueueRows}: a full queue needs about ${Math.ceil(queueMb)} MB, more than half of Node's ${Math.floor(heapMb)} MB heap; lower it, or raise the heap (MAX_HEAP_MB=${Math.ceil(queueMb * 2.5)} with npm start)\n`,
    );
    process.exit(1);
  }
  const log = createLogger(config.logLevel);
  log.info(
    {
      memoryBoundMb: memoryBoundMb(config, heapMb),
    },
    "RSS bound: heap caps (MAX_HEAP_MB, and each worker's) + bodies in flight + queued ILP bytes + Node's own",
  );

  let embedded: LocalQuestDb | undefined;
  let questdb = config.questdb;
  if (!questdb) {
    log.info("no QUESTDB_HTTP_ADDR / QUESTDB_PG_ADDR set: starting the embedded QuestDB");
    const started = await startEmbeddedQuestDb(config.embedded, (line) => log.info({ component: "questdb" }, line));
    embedded = started.server;
    questdb = started.address;
  }

  const app = buildApp({
    config,
    questdb,
    log,
    onFatal: (error) => {
      log.fatal(error.message);
      void shutdown(1);
    },
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): Promise<void> => {
    stopping ??= (async () => {
      log.info("shutting down: no new requests, flushing queued rows");
      try {
        await app.stop();
        await embedded?.stop();
      } finally {
        log.info("stopped");
        process.exit(code);
      }
    })();
    return stopping;
  };
  process.once("SIGTERM", () => void shutdown(0));
  process.once("SIGINT", () => void shutdown(0));

  try {
    await app.start();
  } catch (error) {
    log.fatal(error instanceof Error ? error.message : String(error));
    await shutdown(1);
  }
}

void main();
