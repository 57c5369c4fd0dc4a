// Starts one throwaway QuestDB (free ports, temporary data folder) for the whole test run and
// stops it afterwards. The guard in local-server.ts kills it even if this process dies.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ensureChromium } from "../../scripts/ensure-chromium.ts";
import { ensureHaproxy } from "../../scripts/ensure-haproxy.ts";
import { startLocalQuestDb } from "../../src/questdb/local-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    questdb: { httpPort: number; pgPort: number; jarDir: string };
  }
}

export default async function setup(project: TestProject) {
  // The browser tests need Debian's chromium: installed here if missing (scripts/ensure-chromium.ts).
  ensureChromium((line) => console.log(`[chromium] ${line}`));
  // The deployment test runs deploy/haproxy.cfg in Debian's HAProxy: installed here too, before
  // any test file runs (installs are serialised, scripts/apt-install.ts).
  ensureHaproxy((line) => console.log(`[haproxy] ${line}`));
  const root = await mkdtemp(join(tmpdir(), "qdb-test-"));
  const jarDir = join(process.cwd(), ".questdb");
  const server = await startLocalQuestDb({
    jarDir,
    rootDir: root,
    httpPort: 0,
    pgPort: 0,
    log: (line) => console.log(`[questdb] ${line}`),
    // Every test app makes its own tables and views (a thousand over a run): QuestDB keeps an
    // idle table's files open for minutes by default (readers 2 min, writers 10 min, checked every
    // 5 min), which ran the server out of file descriptors (EMFILE). Closed after 5 s here.
    settings: {
      "cairo.idle.check.interval": "1000",
      "cairo.inactive.reader.ttl": "5000",
      "cairo.inactive.writer.ttl": "5000",
      "cairo.wal.inactive.writer.ttl": "5000",
    },
  });
  project.provide("questdb", { httpPort: server.httpPort, pgPort: server.pgPort, jarDir });
  return async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
}
