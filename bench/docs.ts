// What the benchmarks share: how the API is started, and where results are recorded.
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";

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
