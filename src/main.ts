// Entry point: configuration → (embedded QuestDB) → buildApp → listen; SIGTERM/SIGINT → stop.
import { buildApp } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
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
  const log = createLogger(config.logLevel);

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
