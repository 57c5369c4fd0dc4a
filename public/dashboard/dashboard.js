// The live dashboard (issue 14). History comes from the same GraphQL queries any client calls
// (tradeStats, latencyStats, mevEffectiveness, systemMetrics, alertEvents, alertRules) for the
// chosen range and filters; the charts are then kept live by subscriptions (liveMetrics, alerts,
// and tradeRecorded when a pair is chosen, since liveMetrics filters by strategy only).
import { createAlertsPanel } from "/dashboard/alerts-panel.js";
import { createChart } from "/dashboard/charts.js";
import { createHttpClient, createSocketClient, isKeyError } from "/dashboard/graphql-client.js";

const KEY_ITEM = "trade-analytics.apiKey";
/** The bucket each range is charted with (at most a few hundred points). */
const BUCKETS = {
  900: "MINUTE",
  3600: "MINUTE",
  21600: "FIVE_MINUTES",
  86400: "FIFTEEN_MINUTES",
  604800: "HOUR",
  2592000: "FOUR_HOURS",
};
/** The live window of liveMetrics, seconds. */
const LIVE_WINDOW = 60;

const $ = (id) => document.getElementById(id);
const state = {
  rangeSeconds: 900,
  strategy: "",
  pair: "",
  from: 0,
  to: 0,
  generation: 0,
  viewer: undefined,
  /** Start of the latest MEV bucket shown (unix seconds). */
  mevLastBucket: 0,
  /** Trades streamed for a pair filter: [unix seconds, quote amount]. */
  pairTrades: [],
  /** History loads and their requests, for the tests. */
  loads: 0,
};

const getKey = () => sessionStorage.getItem(KEY_ITEM) ?? "";
const http = createHttpClient({ getKey });
const socket = createSocketClient({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
  getKey,
  onStatus: (status) => {
    if (status === "unauthorized") askForKey("The server refused this key.");
    else
      setStatus(
        status === "live" ? "live" : status === "connecting" ? "connecting…" : "reconnecting…",
        status === "live" ? "live" : "",
      );
  },
});

const nowSeconds = () => Date.now() / 1000;
const windowSeconds = () => [nowSeconds() - state.rangeSeconds, nowSeconds()];
const charts = {
  trades: createChart({
    element: $("chart-trades"),
    windowSeconds,
    scales: { rate: { label: "trades/s" }, volume: { label: "quote volume/s", side: "right" } },
  }),
  latency: createChart({
    element: $("chart-latency"),
    windowSeconds,
    scales: { ms: { label: "ms (log)", log: true } },
  }),
  mev: createChart({ element: $("chart-mev"), windowSeconds, scales: { pct: { label: "%", min: 100 } } }),
  ingest: createChart({
    element: $("chart-ingest"),
    windowSeconds,
    scales: { rows: { label: "rows" }, ms: { label: "flush ms", side: "right" } },
  }),
};
const alerts = createAlertsPanel({
  http,
  charts,
  isAdmin: () => state.viewer?.role === "admin",
  showError: (error) => showError(error),
});
// The tests read the page's state through this (nothing else uses it).
window.dashboard = { charts, state };

function setStatus(text, kind = "") {
  $("status").textContent = text;
  $("status").className = kind;
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.textContent = error.message ?? String(error);
}

function askForKey(problem = "") {
  $("key-problem").textContent = problem;
  const dialog = $("key-dialog");
  if (!dialog.open) dialog.showModal();
  setStatus("API key needed", "problem");
}

$("key-form").addEventListener("submit", () => {
  sessionStorage.setItem(KEY_ITEM, $("key-input").value.trim());
  $("key-input").value = "";
  socket.reconnect();
  void start();
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY_ITEM);
  location.reload();
});

const iso = (seconds) => new Date(seconds * 1000).toISOString();
const toSeconds = (timestamp) => Date.parse(timestamp) / 1000;
const matchesStrategy = (strategy) => !state.strategy || strategy === state.strategy;
const matchesPair = (group) => !state.pair || `${group.baseToken}/${group.quoteToken}` === state.pair;

/** x of a bucket (clipped to the range) and the seconds it covers. */
function bucketSpans(starts, from, to) {
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  const spans = new Map();
  sorted.forEach((start, i) => {
    const x = Math.max(start, from);
    const end = Math.min(sorted[i + 1] ?? to, to);
    spans.set(start, { x, seconds: Math.max(1, end - x) });
  });
  return spans;
}

const TRADES = `query DashboardTrades($range: TimeRange!, $bucket: TimeBucket!) {
  tradeStats(range: $range, bucket: $bucket, groupBy: [PAIR, STRATEGY]) {
    totals { group { baseToken quoteToken strategy } count }
    buckets { bucket group { baseToken quoteToken strategy } count quoteVolume }
  }
}`;
const LATENCY = `query DashboardLatency($range: TimeRange!, $bucket: TimeBucket!, $strategy: String) {
  latencyStats(range: $range, bucket: $bucket, strategy: $strategy) { buckets { bucket stage count p50Us p99Us } }
}`;
const MEV = `query DashboardMev($range: TimeRange!, $bucket: TimeBucket!) {
  mevEffectiveness(range: $range, bucket: $bucket, groupBy: [PROTECTION, STRATEGY]) {
    buckets { bucket protection strategy transactions attacks protectedShare landingRate }
  }
}`;
const SYSTEM = `query DashboardSystem($range: TimeRange!, $bucket: TimeBucket!) {
  systemMetrics(range: $range, bucket: $bucket) { bucket instance maxQueueDepth maxFlushMs rejectedRows }
}`;
const ALERTS = `query DashboardAlerts($range: TimeRange!) {
  alertRules { id kind stage windowSeconds threshold hysteresis }
  alertEvents(range: $range, first: 200) { eventId ruleId kind state value threshold at message }
}`;

function showTrades(stats) {
  const rows = stats.buckets.filter((r) => matchesStrategy(r.group.strategy) && matchesPair(r.group));
  const spans = bucketSpans(
    stats.buckets.map((r) => toSeconds(r.bucket)),
    state.from,
    state.to,
  );
  const sums = new Map();
  for (const [start] of spans) sums.set(start, { count: 0, volume: 0 });
  for (const r of rows) {
    const sum = sums.get(toSeconds(r.bucket));
    sum.count += r.count;
    sum.volume += r.quoteVolume;
  }
  for (const [start, sum] of sums) {
    const { x, seconds } = spans.get(start);
    charts.trades.set("trades/s", x, sum.count / seconds, { scale: "rate" });
    charts.trades.set("quote volume/s", x, sum.volume / seconds, { scale: "volume" });
  }
  fillFilters(stats.totals);
}

function fillFilters(totals) {
  const fill = (select, values, current) => {
    const wanted = ["", ...[...new Set(values)].sort()];
    if (current && !wanted.includes(current)) wanted.push(current);
    const have = [...select.options].map((o) => o.value);
    if (have.join("\n") === wanted.join("\n")) return;
    select.replaceChildren(...wanted.map((v) => new Option(v || "all", v, false, v === current)));
  };
  const seen = totals.filter((t) => t.count > 0);
  fill($("strategy"), seen.map((t) => t.group.strategy).filter(Boolean), state.strategy);
  fill(
    $("pair"),
    seen.map((t) => `${t.group.baseToken}/${t.group.quoteToken}`),
    state.pair,
  );
}

function showLatency(stats) {
  for (const r of stats.buckets) {
    if (r.count === 0) continue;
    const x = Math.max(toSeconds(r.bucket), state.from);
    charts.latency.set(`${r.stage} p50`, x, r.p50Us / 1000, { scale: "ms" });
    charts.latency.set(`${r.stage} p99`, x, r.p99Us / 1000, { scale: "ms", dash: [6, 4] });
  }
}

function showMev(stats) {
  const perBucket = new Map();
  for (const r of stats.buckets) {
    state.mevLastBucket = Math.max(state.mevLastBucket, toSeconds(r.bucket));
    if (!matchesStrategy(r.strategy) || r.transactions === 0) continue;
    const x = Math.max(toSeconds(r.bucket), state.from);
    const b = perBucket.get(x) ?? { tx: 0, protected: 0, byProtection: new Map() };
    b.tx += r.transactions;
    b.protected += (r.protectedShare ?? 0) * r.transactions;
    const p = b.byProtection.get(r.protection) ?? { tx: 0, attacks: 0, landed: 0 };
    p.tx += r.transactions;
    p.attacks += r.attacks;
    p.landed += (r.landingRate ?? 0) * r.transactions;
    b.byProtection.set(r.protection, p);
    perBucket.set(x, b);
  }
  for (const [x, b] of perBucket) {
    charts.mev.set("protected share", x, (100 * b.protected) / b.tx, { scale: "pct" });
    for (const [protection, p] of b.byProtection) {
      charts.mev.set(`${protection} attacked`, x, (100 * p.attacks) / p.tx, { scale: "pct" });
      charts.mev.set(`${protection} landing`, x, (100 * p.landed) / p.tx, { scale: "pct", dash: [6, 4] });
    }
  }
}

function showSystem(rows) {
  const perBucket = new Map();
  for (const r of rows) {
    const x = Math.max(toSeconds(r.bucket), state.from);
    const b = perBucket.get(x) ?? { queue: 0, flush: 0, rejected: 0 };
    b.queue += r.maxQueueDepth;
    b.flush = Math.max(b.flush, r.maxFlushMs);
    b.rejected += r.rejectedRows;
    perBucket.set(x, b);
  }
  for (const [x, b] of perBucket) setIngestPoint(x, b.queue, b.flush, b.rejected);
}

function setIngestPoint(x, queue, flushMs, rejected) {
  charts.ingest.set("queue depth", x, queue, { scale: "rows" });
  charts.ingest.set("rejected rows", x, rejected, { scale: "rows", dash: [2, 3] });
  charts.ingest.set("flush ms", x, flushMs, { scale: "ms" });
}

function renderCharts() {
  const [from] = windowSeconds();
  for (const chart of Object.values(charts)) {
    chart.trim(from);
    chart.render();
  }
}

/** Queries the range's history through the public queries, then keeps it live. */
async function loadHistory() {
  const generation = ++state.generation;
  state.loads++;
  state.to = Math.ceil(nowSeconds());
  state.from = state.to - state.rangeSeconds;
  const range = { from: iso(state.from), to: iso(state.to + 1) };
  const bucket = BUCKETS[state.rangeSeconds];
  setStatus("loading…");
  try {
    const [trades, latency, mev, system, alertData] = await Promise.all([
      http.request(TRADES, { range, bucket }),
      http.request(LATENCY, { range, bucket, strategy: state.strategy || null }),
      http.request(MEV, { range, bucket }),
      http.request(SYSTEM, { range, bucket }),
      http.request(ALERTS, { range }),
    ]);
    if (generation !== state.generation) return;
    for (const chart of Object.values(charts)) chart.clear();
    state.mevLastBucket = 0;
    showTrades(trades.tradeStats);
    showLatency(latency.latencyStats);
    showMev(mev.mevEffectiveness);
    showSystem(system.systemMetrics);
    alerts.show(alertData);
    renderCharts();
    showError();
    setStatus("live", "live");
    document.body.dataset.loaded = String(state.loads);
  } catch (error) {
    if (isKeyError(error)) askForKey(getKey() ? "The server refused this key." : "");
    else showError(error);
  }
}

let stopLive = [];
/** (Re)subscribes: liveMetrics for the strategy; tradeRecorded for a pair; alerts. */
function subscribe() {
  for (const stop of stopLive) stop();
  state.pairTrades = [];
  const fail = (errors) => showError(new Error(errors.map?.((e) => e.message).join("; ") ?? String(errors)));
  stopLive = [
    socket.subscribe(
      `subscription DashboardLive($window: Int!, $strategy: String) {
        liveMetrics(windowSeconds: $window, strategy: $strategy) {
          at trades tradesPerSecond volume ingestQueueDepth ingestFlushMs ingestRejectedRows
          latency { stage count p50Us p99Us }
        }
      }`,
      { window: LIVE_WINDOW, strategy: state.strategy || null },
      { next: (data) => onLive(data.liveMetrics), error: fail },
    ),
    socket.subscribe(
      "subscription DashboardAlerts { alerts { eventId ruleId kind state value threshold at message } }",
      {},
      { next: (data) => alerts.onEvent(data.alerts), error: fail },
    ),
  ];
  if (state.pair) {
    const [baseToken, quoteToken] = state.pair.split("/");
    stopLive.push(
      socket.subscribe(
        `subscription DashboardPairTrades($filter: TradeFilter) { tradeRecorded(filter: $filter) { timestamp quoteAmount } }`,
        { filter: { pair: { baseToken, quoteToken }, ...(state.strategy ? { strategy: state.strategy } : {}) } },
        {
          next: (data) =>
            state.pairTrades.push([toSeconds(data.tradeRecorded.timestamp), data.tradeRecorded.quoteAmount]),
          error: fail,
        },
      ),
    );
  }
}

function onLive(m) {
  const x = toSeconds(m.at);
  if (state.pair) {
    // liveMetrics has no pair filter: count the pair's streamed trades over the same window.
    state.pairTrades = state.pairTrades.filter(([t]) => t > x - LIVE_WINDOW);
    const volume = state.pairTrades.reduce((sum, [, v]) => sum + v, 0);
    charts.trades.set("trades/s", x, state.pairTrades.length / LIVE_WINDOW, { scale: "rate" });
    charts.trades.set("quote volume/s", x, volume / LIVE_WINDOW, { scale: "volume" });
  } else {
    charts.trades.set("trades/s", x, m.tradesPerSecond, { scale: "rate" });
    charts.trades.set("quote volume/s", x, m.volume / m.windowSeconds || m.volume / LIVE_WINDOW, { scale: "volume" });
  }
  for (const s of m.latency) {
    charts.latency.set(`${s.stage} p50`, x, s.p50Us / 1000, { scale: "ms" });
    charts.latency.set(`${s.stage} p99`, x, s.p99Us / 1000, { scale: "ms", dash: [6, 4] });
  }
  setIngestPoint(x, m.ingestQueueDepth, m.ingestFlushMs, m.ingestRejectedRows);
  renderCharts();
  void refreshMevTail();
  setStatus(`live · ${new Date(x * 1000).toLocaleTimeString()}`, "live");
}

let mevRefreshAt = 0;
/**
 * MEV rates by protection have no live subscription: the latest bucket (whole, so that its point
 * keeps covering the bucket) and any newer one are asked again, at most every 5 s.
 */
async function refreshMevTail() {
  const now = nowSeconds();
  if (now - mevRefreshAt < 5 || !state.from) return;
  mevRefreshAt = now;
  const generation = state.generation;
  const bucket = BUCKETS[state.rangeSeconds];
  const from = Math.max(state.from, state.mevLastBucket);
  try {
    const { mevEffectiveness } = await http.request(MEV, { range: { from: iso(from), to: iso(now + 1) }, bucket });
    if (generation === state.generation) {
      showMev(mevEffectiveness);
      renderCharts();
    }
  } catch {
    // The next tick asks again.
  }
}

for (const id of ["range", "strategy", "pair"]) {
  $(id).addEventListener("change", () => {
    const strategyOrPair = state.strategy !== $("strategy").value || state.pair !== $("pair").value;
    state.rangeSeconds = Number($("range").value);
    state.strategy = $("strategy").value;
    state.pair = $("pair").value;
    void loadHistory();
    if (strategyOrPair) subscribe();
  });
}
window.addEventListener("resize", () => {
  for (const chart of Object.values(charts)) chart.resize();
});

async function start() {
  const server = await (await fetch("/dashboard/server.json")).json();
  if (server.keysRequired && !getKey()) {
    askForKey();
    return;
  }
  try {
    const { viewer } = await http.request("query DashboardViewer { viewer { name role } }");
    state.viewer = viewer;
    $("who").textContent = `${viewer.name} (${viewer.role})`;
    $("sign-out").hidden = !getKey();
    if ($("key-dialog").open) $("key-dialog").close();
  } catch (error) {
    if (isKeyError(error)) askForKey(getKey() ? "The server refused this key." : "");
    else showError(error);
    return;
  }
  await loadHistory();
  subscribe();
}

void start();
