// The example clients (issue 14, point 7), run as a user runs them, child processes against the
// real API and QuestDB: examples/monitor.ts prints the live figures and alerts while
// examples/bot.ts records trades, latency and MEV rows in batches.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { startTestApp } from "./support/app.ts";
import { eventually, exec } from "./support/questdb.ts";

const WRITER = "examples-bot-key-0123456789";
const READER = "examples-monitor-key-012345";
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

describe("examples/bot.ts and examples/monitor.ts", () => {
  it("the monitor sees the bot's trades and latency, and the alert they raise", async () => {
    const t = await startTestApp("examples", {
      API_KEYS: `bot-7:writer:${WRITER},ops-monitor:reader:${READER}`,
      LIVE_POLL_INTERVAL_MS: "50",
      // Evaluated by the test once the bot is done (the value is then exact).
      ALERT_INTERVAL_MS: "0",
      ALERT_RULES: JSON.stringify([{ id: "sandwiched", kind: "SANDWICH_RATE", windowSeconds: 60, threshold: 0.01 }]),
    });
    const monitor = spawn(process.execPath, ["--import", "tsx", "examples/monitor.ts"], {
      env: { ...process.env, API_URL: t.url, API_KEY: READER },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(monitor);
    const lines: Record<string, never>[] = [];
    let stderr = "";
    monitor.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    createInterface({ input: monitor.stdout! }).on("line", (line) => lines.push(JSON.parse(line)));
    // The current figures arrive as soon as the subscription starts: nothing recorded yet.
    await eventually(async () => (lines.some((l) => "liveMetrics" in l) ? true : undefined), "the first liveMetrics");
    expect(lines[0]).toMatchObject({ liveMetrics: { trades: 0, latency: [] } });

    const bot = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/bot.ts"], {
      env: { ...process.env, API_URL: t.url, API_KEY: WRITER, BOT_TRADES: "120", BOT_BATCH: "50", BOT_NAME: "bot_7" },
    });
    expect(bot.stdout.trim().split("\n")).toEqual([
      "recorded 50/120 trades",
      "recorded 100/120 trades",
      "recorded 120/120 trades",
    ]);
    const stored = await exec(`SELECT count() FROM ${t.prefix}trades WHERE writer = 'bot-7' AND strategy = 'bot_7'`);
    expect(stored.dataset).toEqual([[120]]);

    type Live = { trades: number; latency: { stage: string; count: number }[] };
    const live = await eventually(async () => {
      const last = lines.filter((l) => "liveMetrics" in l).at(-1) as { liveMetrics: Live } | undefined;
      // Trades and latency rows land in separate flushes: wait for the latency counts too.
      const complete =
        last?.liveMetrics.trades === 120 &&
        last.liveMetrics.latency.length === 6 &&
        last.liveMetrics.latency.every((s) => s.count === 120);
      return complete ? last : undefined;
    }, "liveMetrics with the bot's 120 trades");
    expect(live.liveMetrics.latency.map((s) => [s.stage, s.count])).toEqual(
      ["build", "confirm", "e2e", "quote", "sign", "submit"].map((stage) => [stage, 120]),
    );
    // 7 of the 120 trades were sandwiched (every 17th): 5.83 % > 1 % (a fraction, 0.01).
    expect((await t.app.services.alerts.evaluate()).map((e) => e.state)).toEqual(["FIRING"]);
    const alert = await eventually(
      async () => lines.find((l) => "alert" in l) as { alert: Record<string, unknown> } | undefined,
      "the SANDWICH_RATE alert",
    );
    expect(alert.alert).toMatchObject({
      ruleId: "sandwiched",
      kind: "SANDWICH_RATE",
      state: "FIRING",
      value: 7 / 120,
      threshold: 0.01,
    });

    const exited = new Promise<number | null>((done) => monitor.once("exit", (code) => done(code)));
    monitor.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  }, 120_000);
});
