// The probes of `npm run bench:overload`, in a process of their own (as a monitoring system
// would be): the bots' process spends its CPU building and sending megabytes, and a probe run
// beside them would time that process's own event-loop delay as well as the API's.
// With a writer key and a batch size it also runs one bot of its own, sending its batches with
// `fetch` every 200 ms: bots run in processes (and machines) of their own, and the 100 bots
// sharing the load generator's process time their own event-loop delay too (60–90 ms at p99).
// Usage: node --import tsx bench/overload-probe.ts <api url> <reader key> <every ms> <seconds> [<writer key> <rows> <expect 0|1>]
// Prints one JSON line at the end: { health, ready, oneRow, botRefused, botAccepted } as
// { ms: number[], failures: [reason, n][] }.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ONE_ROW, post, postExpectContinue, probe, Timings, tradesBody } from "./overload-clients.ts";

const [url, key, everyMs, seconds, writerKey, rows, expect] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
  string | undefined,
  string | undefined,
];
const signal = AbortSignal.timeout(Number(seconds) * 1000);
// A probe's own request is never cut by the end of the phase, only by its 10 s timeout.
const timeout = () => AbortSignal.timeout(10_000);
const every = Number(everyMs);
const figures = {
  health: new Timings(),
  ready: new Timings(),
  oneRow: new Timings(),
  botRefused: new Timings(),
  botAccepted: new Timings(),
};
/** The probe's own bot: a new batch every 200 ms (a refused one is not retried: the next batch comes anyway). */
async function ownBot(): Promise<void> {
  if (!writerKey || !rows) return;
  const send = expect === "1" ? postExpectContinue : post;
  for (let batch = 0; !signal.aborted; batch++) {
    const body = tradesBody(1_000_000, batch, Number(rows));
    const started = performance.now();
    try {
      const r = await send(url, writerKey, body, timeout());
      (r.code === undefined ? figures.botAccepted : figures.botRefused).ms.push(r.ms);
      if (r.code !== undefined) figures.botRefused.fail(r.code);
    } catch (e) {
      figures.botRefused.fail(e instanceof Error ? e.name : "?");
    }
    await new Promise((done) => setTimeout(done, Math.max(0, 200 - (performance.now() - started))));
  }
}
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
await Promise.all([
  probe(every, async () => (await fetch(`${url}/health`, { signal: timeout() })).ok, figures.health, signal),
  probe(every, async () => (await fetch(`${url}/ready`, { signal: timeout() })).ok, figures.ready, signal),
  probe(every, async () => (await post(url, key, ONE_ROW, timeout())).code === undefined, figures.oneRow, signal),
  ownBot(),
]);
lag.disable();
const out = (t: Timings) => ({ ms: t.ms, failures: [...t.failures] });
console.log(
  JSON.stringify({
    health: out(figures.health),
    ready: out(figures.ready),
    oneRow: out(figures.oneRow),
    botRefused: out(figures.botRefused),
    botAccepted: out(figures.botAccepted),
    lagP99Ms: lag.percentile(99) / 1e6,
  }),
);
