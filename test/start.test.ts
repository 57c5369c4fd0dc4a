// `npm start` as a user runs it: the embedded QuestDB, GraphQL, /ready, graceful SIGTERM.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { freePort, isQuestDbUp, jarPath } from "../src/questdb/local-server.ts";
import { RecordTradeDocument, TradesDocument } from "./generated/graphql.ts";
import { postGraphQL } from "./support/app.ts";
import { eventually } from "./support/questdb.ts";

let dir: string;
const killGroup = (pid: number | undefined) => {
  try {
    if (pid) process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
};
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("npm start with no QuestDB configured", () => {
  it("runs the embedded QuestDB, serves GraphQL and /ready, and on SIGTERM flushes, stops QuestDB and exits 0", async () => {
    dir = await mkdtemp(join(tmpdir(), "npm-start-"));
    const embeddedDir = join(dir, "qdb");
    await mkdir(embeddedDir);
    // Reuse the jar the test run already fetched.
    await symlink(jarPath(inject("questdb").jarDir), jarPath(embeddedDir));
    const [port, httpPort, pgPort] = [await freePort(), await freePort(), await freePort()];
    /** `npm start` in its own process group, so a failed test can kill npm and node together. */
    const npmStart = () =>
      spawn("npm", ["start", "--silent"], {
        cwd: resolve("."),
        env: {
          ...process.env,
          PORT: String(port),
          QUESTDB_EMBEDDED_DIR: embeddedDir,
          QUESTDB_EMBEDDED_HTTP_PORT: String(httpPort),
          QUESTDB_EMBEDDED_PG_PORT: String(pgPort),
          DEAD_LETTER_DIR: join(dir, "dlq"),
          SPOOL_DIR: join(dir, "spool"),
          LOG_LEVEL: "info",
        },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      });
    const child = npmStart();
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c));
    child.stderr.on("data", (c: Buffer) => (output += c));
    const exited = new Promise<number | null>((done) => child.on("exit", done));
    const url = `http://127.0.0.1:${port}`;
    try {
      await eventually(
        async () => ((await fetch(`${url}/ready`)).status === 200 ? true : undefined),
        "/ready",
        180_000,
      );
      expect(await isQuestDbUp("127.0.0.1", httpPort)).toBe(true);
      const recorded = await postGraphQL(url, RecordTradeDocument, {
        input: {
          tradeId: "npm-start-1",
          timestamp: new Date().toISOString(),
          action: "BUY",
          baseToken: "SOL",
          quoteToken: "USDC",
          baseAmount: 2,
          quoteAmount: 400,
          executedPrice: 200,
          transactionFee: 5000,
          priorityFee: 0,
          expectedSlippage: 0.01,
          actualSlippage: 0,
          mevStatus: "PROTECTED",
          transferFees: 0,
        },
      });
      expect(recorded.errors).toBeUndefined();
      // Queued only; SIGTERM right away must still get it into QuestDB before exit.
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(output).toContain("stopped");
      expect(await isQuestDbUp("127.0.0.1", httpPort)).toBe(false);
    } finally {
      killGroup(child.pid);
    }

    // Start again on the same data: the trade is there, and the tables were left as they were.
    const again = npmStart();
    let log = "";
    again.stdout.on("data", (c: Buffer) => (log += c));
    const exitedAgain = new Promise<number | null>((done) => again.on("exit", done));
    try {
      const trades = await eventually(
        async () => {
          const r = await postGraphQL(url, TradesDocument, { filter: { tradeId: "npm-start-1" } });
          return r.data?.trades.edges.length ? r.data.trades.edges : undefined;
        },
        "the trade after restart",
        180_000,
      );
      expect(trades.map((e) => e.node.baseAmount)).toEqual([2]);
      expect(log).not.toContain("created table");
      expect(log).not.toContain("ALTER TABLE");
      again.kill("SIGINT");
      expect(await exitedAgain).toBe(0);
    } finally {
      killGroup(again.pid);
    }
    // Two starts, each allowed 180 s to become ready (a loaded machine starts QuestDB and the worker
    // threads slowly: CI saw more than 90 s at a load average of 17).
  }, 480_000);
});
