// What the benchmarks share: how the API is started, and where results are recorded.
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";

/** The p-th percentile (0–100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** A process's resident set size in bytes (VmRSS), 0 when it is gone. */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** The node arguments of `npm start` (package.json), so the benchmarks run the API as users do. */
export const API_NODE_ARGS: string[] = (() => {
  const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start;
  const match = /exec node (.*)$/.exec(start);
  if (!match?.[1]) throw new Error(`cannot read the node arguments from the start script: ${start}`);
  // Shell defaults such as ${MAX_HEAP_MB:-256} are expanded as sh would.
  return match[1]
    .trim()
    .split(/\s+/)
    .map((arg) =>
      arg.replace(/\$\{(\w+):-([^}]*)\}/g, (_all, name: string, fallback: string) => process.env[name] ?? fallback),
    );
})();

/** Records a benchmark's table in docs/benchmarks.md, replacing the previous run's section. */
export async function recordInDocs(name: string, heading: string, table: string): Promise<void> {
  const file = "docs/benchmarks.md";
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  let text = await readFile(file, "utf8").catch(() => "# Benchmarks\n");
  const section = `${begin}\n${table}\n${end}`;
  if (text.includes(begin)) text = text.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), section);
  else text = `${text.trimEnd()}\n\n## ${heading}\n\n${section}\n`;
  await writeFile(file, text);
  console.log(`[bench:${name}] recorded in ${file}`);
}

const fmtInt = (n: number) => n.toLocaleString("en-US");

/** A progress bar for loading `total` rows (one line per 10 % when stdout is not a terminal). */
export function progress(bench: string, label: string, total: number): (done: number) => void {
  const started = performance.now();
  let lastLine = -1;
  const tty = process.stdout.isTTY;
  return (done: number) => {
    const fraction = total === 0 ? 1 : done / total;
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 0.001);
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 30;
    const filled = Math.round(fraction * width);
    const line = `[bench:${bench}] ${label.padEnd(16)} ${"█".repeat(filled)}${"░".repeat(width - filled)} ${(fraction * 100).toFixed(0).padStart(3)}% ${fmtInt(done)}/${fmtInt(total)} · ${fmtInt(Math.round(rate))} rows/s · eta ${eta.toFixed(0)} s`;
    if (tty) process.stdout.write(`\r${line}${done >= total ? "\n" : ""}`);
    else if (Math.floor(fraction * 10) > lastLine || done >= total) {
      lastLine = Math.floor(fraction * 10);
      console.log(line);
    }
  };
}
