// Records a benchmark's table in docs/benchmarks.md, replacing the previous run's section.
import { readFile, writeFile } from "node:fs/promises";

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
