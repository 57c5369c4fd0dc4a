// The probes of `npm run bench:overload`, in a process of their own (as a monitoring system
// would be): the bots' process spends its CPU building and sending megabytes, and a probe run
// beside them would time that process's own event-loop delay as well as the API's.
// Usage: node --import tsx bench/overload-probe.ts <api url> <reader key> <every ms> <seconds>
// Prints one JSON line at the end: { health, ready, oneRow } as { ms: number[], failures: [reason, n][] }.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ONE_ROW, post, probe, Timings } from "./overload-clients.ts";

const [url, key, everyMs, seconds] = process.argv.slice(2) as [string, string, string, string];
const signal = AbortSignal.timeout(Number(seconds) * 1000);
// A probe's own request is never cut by the end of the phase, only by its 10 s timeout.
const timeout = () => AbortSignal.timeout(10_000);
const every = Number(everyMs);
const figures = { health: new Timings(), ready: new Timings(), oneRow: new Timings() };
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
await Promise.all([
  probe(every, async () => (await fetch(`${url}/health`, { signal: timeout() })).ok, figures.health, signal),
  probe(every, async () => (await fetch(`${url}/ready`, { signal: timeout() })).ok, figures.ready, signal),
  probe(every, async () => (await post(url, key, ONE_ROW, timeout())).code === undefined, figures.oneRow, signal),
]);
lag.disable();
const out = (t: Timings) => ({ ms: t.ms, failures: [...t.failures] });
console.log(
  JSON.stringify({
    health: out(figures.health),
    ready: out(figures.ready),
    oneRow: out(figures.oneRow),
    lagP99Ms: lag.percentile(99) / 1e6,
  }),
);
