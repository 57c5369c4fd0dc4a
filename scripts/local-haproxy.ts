// deploy/haproxy.cfg run on this machine, in front of API processes on local ports: the
// compose file's load balancer without a container engine (test/compose.test.ts, bench/scale.ts).
// Only the published address and the servers change; every other line is the deployed one.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureHaproxy } from "./ensure-haproxy.ts";

export const HAPROXY_CONFIG = "deploy/haproxy.cfg";

/** `server <name> <address>` lines of deploy/haproxy.cfg, in order. */
export function haproxyServers(config: string): { name: string; host: string; port: number }[] {
  return [...config.matchAll(/^\s*server\s+(\S+)\s+([^\s:]+):(\d+)/gm)].map((m) => ({
    name: m[1] as string,
    host: m[2] as string,
    port: Number(m[3]),
  }));
}

/**
 * deploy/haproxy.cfg listening on 127.0.0.1:`port`, its servers replaced by `servers`
 * (127.0.0.1 ports, named api-1, api-2, …), `overrides` in place of their directives' lines.
 * Throws when the file no longer has the one `bind` line, the `server` lines and the overridden
 * directives this rewrites, so that a test cannot pass on a file it did not run.
 */
export function localHaproxyConfig(
  config: string,
  port: number,
  servers: number[],
  overrides: Record<string, string> = {},
): string {
  const binds = config.match(/^\s*bind\s.*$/gm) ?? [];
  if (binds.length !== 1) throw new Error(`${HAPROXY_CONFIG}: expected one bind line, found ${binds.length}`);
  let text = config;
  for (const [directive, value] of Object.entries(overrides)) {
    const line = new RegExp(`^(\\s*)${directive.replace(/ /g, "\\s+")}\\s.*$`, "m");
    if (!line.test(text)) throw new Error(`${HAPROXY_CONFIG}: no "${directive}" line to override`);
    text = text.replace(line, `$1${directive} ${value}`);
  }
  const lines = text.split("\n");
  const first = lines.findIndex((line) => /^\s*server\s/.test(line));
  if (first < 0) throw new Error(`${HAPROXY_CONFIG}: no server line`);
  const indent = /^\s*/.exec(lines[first] as string)?.[0] ?? "  ";
  const kept = lines
    .map((line) => line.replace(/^(\s*)bind\s.*$/, `$1bind 127.0.0.1:${port}`))
    .filter((line, i) => i <= first || !/^\s*server\s/.test(line));
  kept.splice(first, 1, ...servers.map((p, i) => `${indent}server api-${i + 1} 127.0.0.1:${p}`));
  return kept.join("\n");
}

export interface LocalHaproxy {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts HAProxy (installed if missing) with deploy/haproxy.cfg rewritten for local ports, and
 * `overrides` (directive → value, e.g. `{ "timeout client": "2s" }`) in place of those lines.
 */
export async function startLocalHaproxy(
  port: number,
  servers: number[],
  overrides: Record<string, string> = {},
): Promise<LocalHaproxy> {
  const binary = ensureHaproxy();
  const dir = await mkdtemp(join(tmpdir(), "haproxy-"));
  const file = join(dir, "haproxy.cfg");
  await writeFile(file, localHaproxyConfig(await readFile(HAPROXY_CONFIG, "utf8"), port, servers, overrides));
  // -db: foreground, logs to stdout (the config's `log stdout`), stopped by a signal.
  const child = spawn(binary, ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-100_000));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  // Ready once a request goes through to a replica that is ready itself.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`haproxy exited with ${child.exitCode}:\n${output}`);
    }
    const ok = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not pass a request to a ready API within 30 s:\n${output}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return { url, child, output: () => output, stop };
}
