// The dashboard (/dashboard, issue 14) in headless Chromium (playwright-core with Debian's
// chromium), against the real app and QuestDB: key prompt, history through the public queries,
// live points from subscriptions, the range picker, alert rules made on the page, and a
// screenshot of the populated page (docs/dashboard.png, shown in the README).
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seed } from "../scripts/seed.ts";
import { RecordLatencyMetricsDocument, RecordTradesDocument } from "./generated/graphql.ts";
import { postGraphQL, startTestApp, type TestApp } from "./support/app.ts";
import { launchChromium } from "./support/browser.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";

const ADMIN_KEY = "dashboard-admin-key-0123456789";
const BOT_KEY = "dashboard-bot-key-0123456789abc";

let browser: Browser;
let t: TestApp;
let page: Page;
const consoleErrors: string[] = [];
const external: string[] = [];
/** The GraphQL operations the page posted: operation name and variables. */
const posted: { name: string; variables: Record<string, unknown> }[] = [];

const asBot = <R, V>(document: Parameters<typeof postGraphQL<R, V>>[1], variables: V) =>
  postGraphQL(t.url, document, variables, { authorization: `Bearer ${BOT_KEY}` });

/** The latest point of a chart's series, read from the page. */
const lastPoint = (chart: string, series: string) =>
  page.evaluate(
    ([c, s]) => (window as unknown as { dashboard: DashboardHandle }).dashboard.charts[c as string]?.last(s as string),
    [chart, series],
  );

interface DashboardHandle {
  charts: Record<
    string,
    { last(name: string): [number, number] | undefined; thresholds(): { firing: boolean; label: string }[] }
  >;
  state: { loads: number };
}

beforeAll(async () => {
  t = await startTestApp("dashboard", {
    API_KEYS: `ops:admin:${ADMIN_KEY},bot:writer:${BOT_KEY}`,
    LIVE_POLL_INTERVAL_MS: "50",
    ALERT_INTERVAL_MS: "200",
    SYSTEM_METRICS_INTERVAL_MS: "1000",
    ALERT_RULES: JSON.stringify([
      { id: "submit-p99", kind: "LATENCY_P99", stage: "submit", windowSeconds: 60, threshold: 250_000 },
      { id: "sandwiched", kind: "SANDWICH_RATE", windowSeconds: 900, threshold: 0.05 },
      { id: "queue", kind: "QUEUE_DEPTH", threshold: 20000 },
    ]),
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(error.message));
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(t.url) && !url.startsWith("ws://127.0.0.1")) external.push(url);
    if (url === `${t.url}/graphql` && request.method() === "POST") {
      const body = request.postDataJSON() as { query: string; variables: Record<string, unknown> };
      posted.push({ name: /(?:query|mutation) (\w+)/.exec(body.query)?.[1] ?? "", variables: body.variables });
    }
  });
});
afterAll(async () => {
  await browser?.close();
});

describe("/dashboard", () => {
  it("asks for the key, keeps it in the session only, and loads with no console errors and nothing from the internet", async () => {
    await page.goto(`${t.url}/dashboard`);
    await page.waitForSelector("#key-dialog[open]");
    expect(posted).toEqual([]); // nothing was sent without a key
    await page.fill("#key-input", ADMIN_KEY);
    await page.click("#key-form button");
    await page.waitForSelector("body[data-loaded='1']");
    expect(await page.textContent("#who")).toBe("ops (admin)");
    expect(await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length }))).toEqual({
      session: 1,
      local: 0,
    });
    // (DashboardMev also refreshes its latest bucket as live messages arrive.)
    expect([...new Set(posted.map((p) => p.name))].sort()).toEqual([
      "DashboardAlerts",
      "DashboardLatency",
      "DashboardMev",
      "DashboardSystem",
      "DashboardTrades",
      "DashboardViewer",
    ]);
    // The three configured rules are listed, their thresholds drawn on the charts they watch.
    expect(await page.$$eval("#rules tbody tr", (rows) => rows.map((r) => (r as HTMLElement).dataset.rule))).toEqual([
      "submit-p99",
      "sandwiched",
      "queue",
    ]);
    const thresholds = await page.evaluate(() =>
      Object.fromEntries(
        Object.entries((window as unknown as { dashboard: DashboardHandle }).dashboard.charts).map(([name, c]) => [
          name,
          c.thresholds().map((x) => x.label),
        ]),
      ),
    );
    expect(thresholds).toEqual({
      trades: [],
      latency: ["submit-p99: LATENCY_P99 submit > 250 ms"],
      mev: ["sandwiched: SANDWICH_RATE > 5 %"],
      ingest: ["queue: QUEUE_DEPTH > 20000 rows"],
    });
    await page.waitForSelector("#status.live");
    expect(consoleErrors).toEqual([]);
    expect(external).toEqual([]);
  });

  it("adds points to the live charts within 2 s of trades being recorded", async () => {
    const before = await lastPoint("trades", "trades/s");
    const inputs = Array.from({ length: 6 }, (_, i) => ({ ...makeTrade(`live-${i}`), quoteAmount: 300 }));
    const recorded = await asBot(RecordTradesDocument, { inputs, durability: "COMMITTED" });
    expect(recorded.errors).toBeUndefined();
    // Recorded: QuestDB has committed them (durability COMMITTED). The clock starts now.
    const recordedAt = Date.now();
    // liveMetrics(windowSeconds: 60): 6 trades are 0.1 per second and 1,800 / 60 = 30 per second of volume.
    const point = await eventually(
      async () => {
        const last = await lastPoint("trades", "trades/s");
        return last && last[1] === 0.1 && (!before || last[0] > before[0]) ? last : undefined;
      },
      "a live point of the 6 trades",
      5_000,
    );
    const elapsed = Date.now() - recordedAt;
    expect(point[1]).toBe(0.1);
    expect((await lastPoint("trades", "quote volume/s"))?.[1]).toBe(30);
    expect(elapsed).toBeLessThan(2_000);
    expect(consoleErrors).toEqual([]);
  });

  it("queries the history again, through the public queries, when the range changes", async () => {
    posted.length = 0;
    await page.selectOption("#range", "3600");
    await page.waitForSelector("body[data-loaded='2']");
    await page.selectOption("#range", "2592000");
    await page.waitForSelector("body[data-loaded='3']");
    const trades = posted.filter((p) => p.name === "DashboardTrades");
    expect(trades.map((p) => p.variables.bucket)).toEqual(["MINUTE", "FOUR_HOURS"]);
    const spans = trades.map((p) => {
      const range = p.variables.range as { from: string; to: string };
      return (Date.parse(range.to) - Date.parse(range.from)) / 1000;
    });
    // The range ends a second after now (to is exclusive).
    expect(spans).toEqual([3601, 2592001]);
    expect(posted.filter((p) => p.name === "DashboardLatency").length).toBe(2);
    // The 6 trades are in the month's history too.
    const history = await page.evaluate(() => {
      const handle = (window as unknown as { dashboard: DashboardHandle }).dashboard;
      return handle.state.loads;
    });
    expect(history).toBe(3);
    expect(consoleErrors).toEqual([]);
  });

  it("creates an alert rule from the page that fires, shows as firing and draws its threshold; edits and deletes rules", async () => {
    await page.selectOption("#range", "900");
    await page.waitForSelector("body[data-loaded='4']");
    await page.fill("#rule-form input[name=id]", "page-e2e");
    await page.selectOption("#rule-form select[name=kind]", "LATENCY_P99");
    await page.fill("#rule-form input[name=stage]", "e2e");
    await page.fill("#rule-form input[name=windowSeconds]", "60");
    await page.fill("#rule-form input[name=threshold]", "2");
    await page.click("#rule-form button[type=submit]");
    await page.waitForSelector("#rules tr[data-rule='page-e2e']");
    // The rule is the server's now, not only the page's: 2 ms typed, 2,000 µs stored (the API's unit).
    expect(t.app.services.alerts.rules().find((r) => r.id === "page-e2e")).toEqual({
      id: "page-e2e",
      kind: "LATENCY_P99",
      stage: "e2e",
      windowSeconds: 60,
      threshold: 2_000,
      hysteresis: 0.1,
    });
    // e2e of 5 ms: its p99 is above 2 ms.
    const now = Date.now();
    const recorded = await asBot(RecordLatencyMetricsDocument, {
      inputs: Array.from({ length: 3 }, (_, i) => ({
        metricId: `slow-${i}`,
        timestamp: new Date(now - i).toISOString(),
        stage: "e2e",
        latencyUs: 5_000,
      })),
      durability: "COMMITTED",
    });
    expect(recorded.errors).toBeUndefined();
    await page.waitForSelector("#active-alerts .firing[data-rule='page-e2e']", { timeout: 15_000 });
    expect(await page.textContent("#rules tr[data-rule='page-e2e'] td.state-FIRING")).toBe("FIRING");
    const latencyLines = await page.evaluate(() =>
      (window as unknown as { dashboard: DashboardHandle }).dashboard.charts.latency?.thresholds(),
    );
    expect(latencyLines).toContainEqual(
      expect.objectContaining({ label: "page-e2e: LATENCY_P99 e2e > 2 ms", firing: true }),
    );
    // Deleted from the page, gone from the server.
    await page.click("#rules tr[data-rule='page-e2e'] button:has-text('Delete')");
    await page.waitForSelector("#rules tr[data-rule='page-e2e']", { state: "detached" });
    expect(t.app.services.alerts.rules().map((r) => r.id)).toEqual(["submit-p99", "sandwiched", "queue"]);
    // Edited from the page: the form is filled with the rule, the new threshold is the server's and the chart's.
    await page.click("#rules tr[data-rule='queue'] button:has-text('Edit')");
    expect(await page.inputValue("#rule-form input[name=threshold]")).toBe("20000");
    await page.fill("#rule-form input[name=threshold]", "15000");
    await page.click("#rule-form button[type=submit]");
    await page.waitForSelector("#rules tr[data-rule='queue'] >> text=15000 rows");
    expect(t.app.services.alerts.rules().find((r) => r.id === "queue")?.threshold).toBe(15000);
    expect(
      await page.evaluate(() =>
        (window as unknown as { dashboard: DashboardHandle }).dashboard.charts.ingest?.thresholds().map((x) => x.label),
      ),
    ).toEqual(["queue: QUEUE_DEPTH > 15000 rows"]);
    expect(consoleErrors).toEqual([]);
  });

  it("shows a day of seeded data, filtered by strategy through the queries (screenshot: docs/dashboard.png)", async () => {
    const result = await seed({
      url: t.url,
      apiKey: BOT_KEY,
      days: 1,
      tradesPerDay: 3000,
      strategies: 4,
      pairs: 4,
      end: Date.now() - 2_000,
      idPrefix: "screenshot",
    });
    expect(result).toEqual({ trades: 3000, latency: 18000, mev: 3000, retries: 0 });
    await page.selectOption("#range", "86400");
    await page.waitForSelector("body[data-loaded='5']");
    const series = await page.evaluate(() => {
      const charts = (window as unknown as { dashboard: { charts: Record<string, { seriesNames(): string[] }> } })
        .dashboard.charts;
      return Object.fromEntries(Object.entries(charts).map(([name, c]) => [name, c.seriesNames().length]));
    });
    // trades/s and volume; p50 and p99 of 6 stages; protected share + attacked and landing of 4 protections.
    expect(series.trades).toBe(2);
    expect(series.latency).toBe(12);
    expect(series.mev).toBe(9);
    expect(await page.$$eval("#strategy option", (o) => o.length)).toBe(5);
    // Live messages make the page ask for the latest MEV bucket again, whole (from its start).
    posted.length = 0;
    await asBot(RecordTradesDocument, { inputs: [makeTrade("tail-1")], durability: "COMMITTED" });
    const tail = await eventually(
      async () => posted.find((p) => p.name === "DashboardMev"),
      "the MEV tail's refresh",
      10_000,
    );
    const tailRange = tail.variables.range as { from: string; to: string };
    expect(Date.parse(tailRange.from) % (15 * 60_000)).toBe(0);
    expect(Date.now() - Date.parse(tailRange.from)).toBeLessThanOrEqual(15 * 60_000 + 10_000);
    // A strategy filter: the latency history is asked for that strategy alone, the trade chart is
    // the strategy's share of the trades.
    const allTrades = await lastPoint("trades", "trades/s");
    posted.length = 0;
    const strategy = await page.$eval("#strategy option:nth-child(2)", (o) => (o as HTMLOptionElement).value);
    await page.selectOption("#strategy", strategy);
    await page.waitForSelector("body[data-loaded='6']");
    expect(posted.find((p) => p.name === "DashboardLatency")?.variables.strategy).toBe(strategy);
    const oneStrategy = await lastPoint("trades", "trades/s");
    expect(oneStrategy?.[1]).toBeLessThan(allTrades?.[1] ?? 0);
    await page.selectOption("#strategy", "");
    await page.waitForSelector("body[data-loaded='7']");
    await page.screenshot({ path: "docs/dashboard.png", fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});
