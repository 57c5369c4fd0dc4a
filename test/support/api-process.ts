// The API as a child process, as `npm start` runs it: so a test can SIGKILL it, and so its CPU
// is not the test's (a test process hosting both the server and its clients measures both).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export interface Api {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

/** src/main.ts as `npm start` runs it, on a fixed port (a restart keeps the bots' URL). */
export async function spawnApi(
  cleanups: (() => Promise<void>)[],
  port: number,
  env: Record<string, string>,
): Promise<Api> {
  const child = spawn(process.execPath, ["--max-old-space-size=256", "--import", "tsx", "src/main.ts"], {
    env: { ...process.env, NODE_ENV: "production", PORT: String(port), LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
  child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-200_000)));
  const exited = new Promise<number | null>((done) => child.on("exit", done));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}:\n${output}`);
    const healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) throw new Error(`the API did not start:\n${output}`);
    await sleep(100);
  }
  return { child, exited, output: () => output };
}

/** The API's environment for a QuestDB, with a spool folder of its own (kept across restarts). */
export async function apiEnv(
  questdb: { httpPort: number; pgPort: number },
  prefix: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  return {
    QUESTDB_HTTP_ADDR: `127.0.0.1:${questdb.httpPort}`,
    QUESTDB_PG_ADDR: `127.0.0.1:${questdb.pgPort}`,
    QUESTDB_TABLE_PREFIX: prefix,
    SPOOL_DIR: await mkdtemp(join(tmpdir(), "spool-durable-")),
    SYSTEM_METRICS_INTERVAL_MS: "0",
    ALERT_INTERVAL_MS: "0",
    ...extra,
  };
}

export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1]);
}
