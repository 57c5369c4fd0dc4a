import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/app.ts";
import { localAddress } from "../src/questdb/embedded.ts";
import { freePort } from "../src/questdb/local-server.ts";
import { startTestApp } from "./support/app.ts";
import { testConfig, uniquePrefix } from "./support/questdb.ts";

describe("HTTP endpoints", () => {
  it("serves /health, /ready (200 with QuestDB up) and GraphiQL for a browser", async () => {
    const { url } = await startTestApp("http");
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const page = await fetch(`${url}/graphql`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("GraphiQL");
  });

  it("starts without QuestDB: /health is 200, /ready is 503", async () => {
    const deadPort = await freePort();
    const config = testConfig({ QUESTDB_TABLE_PREFIX: uniquePrefix("down") });
    const app = buildApp({
      config,
      questdb: localAddress(deadPort, deadPort),
      log: pino({ level: "silent" }),
    });
    try {
      const url = await app.start(0, "127.0.0.1");
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect((await fetch(`${url}/ready`)).status).toBe(503);
    } finally {
      await app.stop();
    }
  });
});

/** Runs src/main.ts to its exit with extra node flags and environment; returns code and output. */
async function runMain(nodeFlags: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", "src/main.ts"], {
    env: { ...process.env, SPOOL_DIR: mkdtempSync(join(tmpdir(), "spool-")), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c));
  child.stderr.on("data", (c: Buffer) => (output += c));
  const code = await new Promise<number | null>((done) => child.on("exit", done));
  return { code, output };
}

describe("npm start", () => {
  it("refuses a queue bound the heap cannot hold, naming MAX_QUEUE_ROWS", async () => {
    const { code, output } = await runMain(["--max-old-space-size=256"], { MAX_QUEUE_ROWS: "1000000" });
    expect(code).toBe(1);
    expect(output).toContain("MAX_QUEUE_ROWS=1000000: a full queue needs about 1336 MB, more than half of Node's");
  });

  it("refuses to start on bad configuration, naming every bad variable", async () => {
    const { code, output } = await runMain([], {
      PORT: "99999",
      RETENTION_DAYS: "soon",
      QUESTDB_PG_PASSWORD: "hunter2",
    });
    expect(code).toBe(1);
    expect(output).toContain('PORT="99999": expected an integer from 0 to 65535');
    expect(output).toContain('RETENTION_DAYS="soon": expected an integer from 1 to 36500');
    expect(output).not.toContain("hunter2");
  });

  it("refuses to listen beyond loopback without API keys, naming API_KEYS", async () => {
    const { code, output } = await runMain([], {
      HOST: "0.0.0.0",
      API_KEYS: "",
      API_KEYS_FILE: "",
      ADMIN_API_KEYS: "",
    });
    expect(code).toBe(1);
    expect(output).toContain(
      'HOST="0.0.0.0": without API keys the server listens only on a loopback address (127.0.0.1, ::1, localhost); set API_KEYS or API_KEYS_FILE to listen on 0.0.0.0',
    );
  });
});
