// Runs QuestDB from its Maven Central jar, without Docker: fetch (cached), configure, start,
// wait until it answers, stop. Used by `npm run questdb`, by `npm start` when no QuestDB address
// is configured, and by the test harness.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { QUESTDB_VERSION } from "./version.ts";

const execFileAsync = promisify(execFile);

export interface LocalQuestDbOptions {
  /** Folder that caches the jar. */
  jarDir: string;
  /** Server root (`-d`): conf/, db/ and questdb.log live here. */
  rootDir: string;
  /** 0 picks a free port. */
  httpPort: number;
  /** 0 picks a free port. */
  pgPort: number;
  /** The java executable; default `java` on PATH (QuestDB 9.3.x runs on Java 17). */
  java?: string;
  /** Gives up when the server has not answered after this long. Default 120 s. */
  readyTimeoutMs?: number;
  /** Progress lines ("fetching…", "started…"); default: none. */
  log?: (line: string) => void;
  /** More server.conf settings (over QUESTDB_SETTINGS), e.g. the test server's. Default none. */
  settings?: Readonly<Record<string, string>>;
}

export interface LocalQuestDb {
  readonly httpPort: number;
  readonly pgPort: number;
  readonly rootDir: string;
  /** PID of the java process. */
  readonly pid: number;
  /** Resolves when the java process has exited, for whatever reason. */
  readonly exited: Promise<void>;
  /** Graceful stop (SIGTERM, then SIGKILL after 20 s). Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would, for fault tests. */
  kill(): Promise<void>;
}

export function jarPath(jarDir: string): string {
  return resolve(jarDir, `questdb-${QUESTDB_VERSION}.jar`);
}

/** Fetches the pinned jar from Maven Central with mvn unless it is cached already. */
export async function ensureJar(jarDir: string, log: (line: string) => void = () => {}): Promise<string> {
  const jar = jarPath(jarDir);
  if (existsSync(jar)) return jar;
  await mkdir(jarDir, { recursive: true });
  log(`fetching org.questdb:questdb:${QUESTDB_VERSION} from Maven Central (about 30 MB, once)…`);
  const started = Date.now();
  try {
    await execFileAsync(
      "mvn",
      [
        "-q",
        "-B",
        "dependency:copy",
        `-Dartifact=org.questdb:questdb:${QUESTDB_VERSION}`,
        `-DoutputDirectory=${resolve(jarDir)}`,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const output = error instanceof Error && "stdout" in error ? String((error as { stdout: unknown }).stdout) : "";
    throw new Error(`mvn could not fetch the QuestDB jar: ${output.slice(-2000) || String(error)}`);
  }
  if (!existsSync(jar)) throw new Error(`mvn finished but ${jar} is missing`);
  log(`fetched ${jar} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return jar;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

// The guard shell runs java in the background and kills it as soon as its own stdin closes.
// Our process holds the write end of that pipe, so java never outlives us: not after stop(),
// not after a crash, not after SIGKILL of the test runner.
const GUARD = [
  "exec 3<&0 </dev/null",
  '"$@" >>"$QDB_LOG" 2>&1 &',
  "pid=$!",
  'echo "$pid"',
  '( cat <&3 >/dev/null; kill -TERM "$pid" 2>/dev/null; i=0',
  '  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200 ]; do sleep 0.1; i=$((i+1)); done',
  '  kill -KILL "$pid" 2>/dev/null ) &',
  'wait "$pid"',
].join("\n");

/**
 * Settings of every QuestDB we run, here and in docker-compose.yml (as `QDB_<KEY>` variables;
 * test/compose.test.ts keeps the two equal).
 */
export const QUESTDB_SETTINGS: Readonly<Record<string, string>> = {
  "http.min.enabled": "false",
  "telemetry.enabled": "false",
  // PGWire statements run on the network pool (2 threads on a 2-core machine by default): two
  // month-long charts would hold both, and a one-row page would wait seconds behind them.
  // More threads than cores time-slice instead, so a short statement always gets one.
  "shared.network.worker.count": "4",
  // WAL apply workers (2 on a 2-core machine by default): QuestDB 9.3.4 lets an immediate period
  // view commit hundreds of transactions without rows in a burst when its base table's apply
  // lags (fixed upstream after 9.3.4, questdb PR #7136); applying them held both workers for about
  // a second, and the base tables' commits (which every read waits for) waited behind them.
  "wal.apply.worker.count": "4",
  // wal_transactions() reports the timestamp range each transaction wrote only with a
  // partitioned transaction log: the query cache drops just the cached periods a write touched
  // (src/questdb/txn-watch.ts). Applies to tables created while it is set.
  "cairo.default.sequencer.part.txn.count": "1000",
  // Idle workers: a QuestDB 9.3.4 worker with nothing to do spins (10 loops in the shared pools,
  // 1,000 in WAL apply and view refresh), pauses the CPU in a loop (up to 7,000 loops), then naps
  // 1 ms at a time (to 10,000) before it sleeps 10 ms at a time. With a commit every 100 ms and
  // polls between them the pools (network ×4, WAL apply ×4, write, query, view refresh) rarely
  // got past the spin: at 10,000 rows/s with 50 subscribers QuestDB took 1.14 of this 2-core
  // machine's cores (the API 0.35), 0.75 with these naps (docs/benchmarks.md, "QuestDB's idle
  // workers"). Napping after 100 idle loops costs a request at most a millisecond of wake-up.
  "shared.worker.yield.threshold": "10",
  "shared.worker.nap.threshold": "100",
  "wal.apply.worker.yield.threshold": "10",
  "wal.apply.worker.nap.threshold": "100",
  "mat.view.refresh.worker.yield.threshold": "10",
  "mat.view.refresh.worker.nap.threshold": "100",
};

function serverConf(httpPort: number, pgPort: number, settings: Readonly<Record<string, string>>): string {
  return [
    `http.bind.to=127.0.0.1:${httpPort}`,
    `pg.net.bind.to=127.0.0.1:${pgPort}`,
    "line.tcp.enabled=false",
    "line.udp.enabled=false",
    ...Object.entries({ ...QUESTDB_SETTINGS, ...settings }).map(([key, value]) => `${key}=${value}`),
    "",
  ].join("\n");
}

export async function isQuestDbUp(httpHost: string, httpPort: number, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(`http://${httpHost}:${httpPort}/exec?query=SELECT%201`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Starts a QuestDB server and resolves once it answers SQL over HTTP. */
export async function startLocalQuestDb(options: LocalQuestDbOptions): Promise<LocalQuestDb> {
  const { jarDir, rootDir, java = "java", readyTimeoutMs = 120_000, log = () => {} } = options;
  const jar = await ensureJar(jarDir, log);
  const httpPort = options.httpPort || (await freePort());
  const pgPort = options.pgPort || (await freePort());
  const root = resolve(rootDir);
  await mkdir(join(root, "conf"), { recursive: true });
  await writeFile(join(root, "conf", "server.conf"), serverConf(httpPort, pgPort, options.settings ?? {}));
  const logFile = join(root, "questdb.log");

  if (await isQuestDbUp("127.0.0.1", httpPort, 300)) {
    throw new Error(`port ${httpPort} already answers as a QuestDB server; stop it or choose another port`);
  }

  const child: ChildProcess = spawn(
    "sh",
    ["-c", GUARD, "questdb-guard", java, "-p", jar, "-m", "io.questdb/io.questdb.ServerMain", "-d", root],
    { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, QDB_LOG: logFile } },
  );
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const pid = await new Promise<number>((done, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => done(Number(chunk.toString().trim().split("\n")[0])));
    child.once("exit", (code) => reject(new Error(`QuestDB guard exited early with ${code}`)));
  });
  child.stdout?.resume();

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      child.stdin?.end();
    }
    await exited;
  };
  const kill = async (): Promise<void> => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
    await stop();
  };

  const deadline = Date.now() + readyTimeoutMs;
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  while (!(await isQuestDbUp("127.0.0.1", httpPort, 500))) {
    if (dead || Date.now() > deadline) {
      await stop();
      const tail = await readFile(logFile, "utf8").then(
        (text) => text.split("\n").slice(-30).join("\n"),
        () => "(no log)",
      );
      throw new Error(
        `QuestDB ${QUESTDB_VERSION} did not become ready on port ${httpPort} (${dead ? "process exited" : "timed out"}); last log lines:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`QuestDB ${QUESTDB_VERSION} ready: http 127.0.0.1:${httpPort}, pgwire 127.0.0.1:${pgPort}, data ${root}`);
  return { httpPort, pgPort, rootDir: root, pid, exited, stop, kill };
}
