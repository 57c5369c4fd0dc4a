// GraphiQL in a real browser (Debian's chromium through playwright-core): the page works
// offline and runs subscriptions over WebSockets.
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordTradeDocument } from "./generated/graphql.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { launchChromium } from "./support/browser.ts";
import { makeTrade } from "./support/load.ts";
import { eventually } from "./support/questdb.ts";

let browser: Browser;
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp("graphiql", { LIVE_POLL_INTERVAL_MS: "50" });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe("GraphiQL", () => {
  it("loads without the internet and streams a subscription over a WebSocket", async () => {
    const page = await browser.newPage();
    const sockets: string[] = [];
    const external: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    page.on("request", (request) => {
      const url = request.url();
      if (!url.startsWith(t.url) && !url.startsWith("ws") && !url.startsWith("blob:") && !url.startsWith("data:")) {
        external.push(url);
      }
    });
    const query = "subscription { tradeRecorded { tradeId baseToken } }";
    await page.goto(`${t.url}/graphql?query=${encodeURIComponent(query)}`);
    await page.waitForSelector(".graphiql-execute-button", { timeout: 30_000 });
    await page.click(".graphiql-execute-button");
    await eventually(
      async () => (t.app.services.live.stats().subscribers === 1 ? true : undefined),
      "GraphiQL's subscription",
    );
    expect(sockets).toEqual([`${t.url.replace("http", "ws")}/graphql`]);
    await new Promise((r) => setTimeout(r, 300));
    await t.gql(RecordTradeDocument, { input: makeTrade("seen-in-graphiql"), durability: "COMMITTED" });
    await eventually(
      async () => ((await page.content()).includes("seen-in-graphiql") ? true : undefined),
      "the trade in GraphiQL's result pane",
      60_000, // a browser, a live poll and the render on a machine CI keeps busy
    );
    expect(external).toEqual([]);
    await page.close();
  }, 180_000);

  it("opens with this API's example operations (a bot's, a dashboard's, a monitor's), and the bot's runs as it is", async () => {
    const page = await browser.newPage();
    await page.goto(`${t.url}/graphql`);
    await page.waitForSelector(".graphiql-execute-button", { timeout: 30_000 });
    const tabs = await page.$$eval(".graphiql-tab-button", (nodes) => nodes.map((n) => n.textContent?.trim()));
    expect(tabs).toEqual(["BotRecordTrades", "DashboardStats", "MonitorLiveMetrics"]);
    await page.click(".graphiql-execute-button");
    await eventually(
      async () => ((await page.content()).includes("commitLatencyMs") ? true : undefined),
      "the answer of the example recordTrades",
    );
    const result = await page.textContent(".result-window");
    expect(result).toMatch(/"accepted":\s+2,/); // CodeMirror spaces are non-breaking
    await page.close();
  });
});
