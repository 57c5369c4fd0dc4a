import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { isQuestDbUp, QUESTDB_SETTINGS, startLocalQuestDb } from "../src/questdb/local-server.ts";
import { eventually, exec } from "./support/questdb.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tempRoot() {
  const dir = await mkdtemp(join(tmpdir(), "qdb-local-"));
  dirs.push(dir);
  return dir;
}

describe("local QuestDB server", () => {
  it("starts on free ports, answers SQL, and stop() leaves no java process behind", async () => {
    const server = await startLocalQuestDb({
      jarDir: inject("questdb").jarDir,
      rootDir: await tempRoot(),
      httpPort: 0,
      pgPort: 0,
    });
    expect(await isQuestDbUp("127.0.0.1", server.httpPort)).toBe(true);
    expect(alive(server.pid)).toBe(true);
    await server.stop();
    expect(alive(server.pid)).toBe(false);
    expect(await isQuestDbUp("127.0.0.1", server.httpPort)).toBe(false);
  });

  it("runs with every setting of QUESTDB_SETTINGS as QuestDB knows it (a misspelt key would be ignored silently)", async () => {
    const { columns, dataset } = await exec("SHOW PARAMETERS");
    const at = (name: string) => columns.findIndex((c) => c.name === name);
    const [path, value, source] = [at("property_path"), at("value"), at("value_source")];
    const known = new Map(dataset.map((row) => [row[path] as string, { value: row[value], source: row[source] }]));
    for (const [key, expected] of Object.entries(QUESTDB_SETTINGS)) {
      expect(known.get(key), key).toEqual({ value: expected, source: "conf" });
    }
  });

  it("dies with its parent: SIGKILL of the process that started it leaves no orphan", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/support/questdb-child.ts", inject("questdb").jarDir, await tempRoot()],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const [pid, port] = await new Promise<number[]>((done) =>
      child.stdout.once("data", (c: Buffer) => done(c.toString().trim().split(" ").map(Number))),
    );
    expect(alive(pid as number)).toBe(true);
    expect(await isQuestDbUp("127.0.0.1", port as number)).toBe(true);
    child.kill("SIGKILL");
    await eventually(async () => (alive(pid as number) ? undefined : true), "java to exit", 30_000);
  });
});
