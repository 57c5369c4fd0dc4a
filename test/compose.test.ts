// The deployment (docker-compose.yml, deploy/haproxy.cfg; docs/scaling.md) checked against the
// code: no container engine runs here, so the compose file is read with a YAML parser and its
// API environment is loaded by the API's own loadConfig; then deploy/haproxy.cfg runs in a real
// HAProxy (Debian's, scripts/ensure-haproxy.ts) in front of two API processes started with the
// replicas' environment, on the shared test QuestDB.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { parse } from "yaml";
import { ensureHaproxy } from "../scripts/ensure-haproxy.ts";
import { HAPROXY_CONFIG, haproxyServers, type LocalHaproxy, startLocalHaproxy } from "../scripts/local-haproxy.ts";
import { type Config, loadConfig } from "../src/config.ts";
import { freePort, QUESTDB_SETTINGS } from "../src/questdb/local-server.ts";
import { tableNames } from "../src/questdb/tables.ts";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { type Api, metric, spawnApi } from "./support/api-process.ts";
import { makeTrade } from "./support/load.ts";
import { eventually, exec, uniquePrefix, walApplied } from "./support/questdb.ts";

interface Service {
  image?: string;
  build?: string;
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  expose?: string[];
  networks?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, unknown>;
  healthcheck?: { test: string[] | string };
}
interface Compose {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean } | null>;
  volumes: Record<string, unknown>;
}

// Docker Compose applies YAML merge keys (`<<: *api`), as the parser does with `merge: true`.
const compose = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as Compose;
const haproxyConfig = readFileSync(HAPROXY_CONFIG, "utf8");
const dockerfile = readFileSync("Dockerfile", "utf8");
/** What an operator passes in the shell, for `${NAME:?…}` and `${NAME:-…}`. */
const SHELL: Record<string, string> = { API_KEYS: "bot-1:writer:compose-test-key-0123456789" };

/** Compose's variable interpolation: `${NAME}`, `${NAME:-default}`, `${NAME:?error}`. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_all, name: string, kind?: string, rest?: string) => {
    const given = shell[name];
    if (given !== undefined && given !== "") return given;
    if (kind === "?") throw new Error(`${name} is required: ${rest}`);
    return kind === "-" ? (rest ?? "") : "";
  });
}

/** The services built from this repository's Dockerfile: the API replicas. */
const apis = Object.entries(compose.services).filter(([, service]) => service.build === ".");
function serviceNamed(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}
const envOf = (service: Service, shell = SHELL): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), shell)]));

/** loadConfig on `env`, and the names it read. */
function loadRecording(env: Record<string, string>): { config: Config; read: Set<string> } {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get: (target, name) => {
      if (typeof name === "string") read.add(name);
      return typeof name === "string" ? target[name] : undefined;
    },
  });
  return { config: loadConfig(recording), read };
}

/** `timeout <name> <n>s|m|h|ms` of deploy/haproxy.cfg, in milliseconds. */
function haproxyTimeout(name: string): number {
  const match = new RegExp(`^\\s*timeout\\s+${name}\\s+(\\d+)(ms|s|m|h)?\\s*$`, "m").exec(haproxyConfig);
  if (!match) throw new Error(`no timeout ${name} in ${HAPROXY_CONFIG}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"] as number;
  return Number(match[1]) * unit;
}

/** Where the image runs the API (Dockerfile WORKDIR): relative folders of the config resolve here. */
const WORKDIR = /^WORKDIR\s+(\S+)/m.exec(dockerfile)?.[1] ?? "/";
const mountAt = (service: Service, target: string): string | undefined =>
  service.volumes?.map((v) => v.split(":")).find(([, to]) => to === target)?.[0];

describe("docker-compose.yml and deploy/haproxy.cfg, read against the code", () => {
  it("runs QuestDB at the version of src/questdb/version.ts, unpublished, on a network with no route out", () => {
    const images = Object.values(compose.services)
      .map((s) => s.image)
      .filter((image) => image?.startsWith("questdb/"));
    expect(images).toEqual([`questdb/questdb:${QUESTDB_VERSION}`]);
    const questdb = serviceNamed("questdb");
    expect(questdb.ports).toBeUndefined();
    expect(questdb.networks).toEqual(["internal"]);
    expect(compose.networks.internal).toEqual({ internal: true });
  });

  it("configures QuestDB as the server the tests and `npm start` run (QDB_ variables for its settings)", () => {
    const env = envOf(serviceNamed("questdb"));
    for (const [key, value] of Object.entries(QUESTDB_SETTINGS)) {
      expect(env[`QDB_${key.toUpperCase().replaceAll(".", "_")}`], key).toBe(value);
    }
  });

  it("publishes only the load balancer, port 4000, from a pinned HAProxy image running deploy/haproxy.cfg", () => {
    const published = Object.entries(compose.services).filter(([, s]) => s.ports !== undefined);
    expect(published.map(([name, s]) => [name, s.ports])).toEqual([["lb", ["4000:4000"]]]);
    const lb = serviceNamed("lb");
    expect(lb.image).toMatch(/^haproxy:\d+\.\d+\.\d+$/);
    // The official image reads this path.
    expect(lb.volumes).toEqual([`./${HAPROXY_CONFIG}:/usr/local/etc/haproxy/haproxy.cfg:ro`]);
    // The published container port is the one HAProxy binds.
    expect(haproxyConfig.match(/^\s*bind\s+(\S+)\s*$/gm)?.map((line) => line.trim())).toEqual(["bind :4000"]);
    // Only the load balancer has a network with a route out; QuestDB's and the API's have none.
    const routed = Object.entries(compose.networks)
      .filter(([, network]) => !network?.internal)
      .map(([name]) => name);
    expect(routed).toEqual(["public"]);
    for (const [name, service] of Object.entries(compose.services)) {
      if (name !== "lb")
        expect(
          service.networks?.some((n) => routed.includes(n)),
          name,
        ).toBe(false);
    }
  });

  it("runs two API replicas in production mode, keys required, that differ only in INSTANCE_ID and volumes", () => {
    expect(apis.map(([name]) => name)).toEqual(["api-1", "api-2"]);
    expect(() => envOf(serviceNamed("api-1"), {})).toThrow("API_KEYS is required");
    const configs = apis.map(([, service]) => loadConfig(envOf(service)));
    expect(configs.map((c) => c.instanceId)).toEqual(["api-1", "api-2"]);
    for (const config of configs) {
      expect(config.production).toBe(true);
      expect(config.keys.map((k) => [k.name, k.role])).toEqual([["bot-1", "writer"]]);
      expect(config.questdb).toMatchObject({ httpHost: "questdb", httpPort: 9000, pgHost: "questdb", pgPort: 8812 });
    }
    const { INSTANCE_ID: _1, ...first } = envOf(serviceNamed("api-1"));
    const { INSTANCE_ID: _2, ...second } = envOf(serviceNamed("api-2"));
    expect(second).toEqual(first);
    const { volumes: _v1, environment: _e1, ...rest1 } = serviceNamed("api-1");
    const { volumes: _v2, environment: _e2, ...rest2 } = serviceNamed("api-2");
    expect(rest2).toEqual(rest1);
  });

  it("gives each replica a volume of its own at the spool and dead-letter folders its configuration resolves to", () => {
    const used = new Set<string>();
    for (const [name, service] of apis) {
      const config = loadConfig(envOf(service));
      for (const folder of [config.spoolDir, config.deadLetterDir]) {
        const target = posix.resolve(WORKDIR, folder);
        const volume = mountAt(service, target);
        expect(volume, `${name}: ${target}`).toBeDefined();
        // A named volume (kept across restarts), used by no other replica.
        expect(Object.keys(compose.volumes), `${name}: ${volume}`).toContain(volume);
        expect(used.has(volume as string), `${name}: ${volume} is shared`).toBe(false);
        used.add(volume as string);
        // The image creates the folder for the node user: a new named volume copies its owner.
        expect(dockerfile).toMatch(new RegExp(`mkdir -p [^\\n]*${target}[ \\n&]`));
      }
    }
    expect(used.size).toBe(4);
  });

  it("sets only environment variables the API reads, with values its configuration accepts", () => {
    for (const [name, service] of apis) {
      const env = envOf(service);
      const { read } = loadRecording(env);
      expect(
        Object.keys(env).filter((key) => !read.has(key)),
        name,
      ).toEqual([]);
    }
  });

  it("points HAProxy's servers at the API replicas' PORT, on a network the load balancer shares with them", () => {
    const servers = haproxyServers(haproxyConfig);
    expect(servers.map((s) => s.name)).toEqual(apis.map(([name]) => name));
    const lb = serviceNamed("lb");
    for (const server of servers) {
      const service = serviceNamed(server.host);
      expect(service.build, server.host).toBe(".");
      expect(server.port).toBe(loadConfig(envOf(service)).port);
      expect(service.expose).toEqual([String(server.port)]);
      expect(service.networks?.filter((n) => lb.networks?.includes(n)).length, server.host).toBeGreaterThan(0);
    }
    expect(lb.depends_on).toEqual(apis.map(([name]) => name));
  });

  it("probes /ready (compose and HAProxy), and HAProxy's timeouts outlast the API's slowest answer and its WebSocket pings", () => {
    for (const [name, service] of apis) {
      const port = loadConfig(envOf(service)).port;
      expect(JSON.stringify(service.healthcheck?.test), name).toContain(`http://127.0.0.1:${port}/ready`);
    }
    // A Host the API accepts whatever ALLOWED_HOSTS says (loopback names always are).
    expect(haproxyConfig).toMatch(/^\s*http-check send meth GET uri \/ready ver HTTP\/1\.1 hdr Host localhost$/m);
    expect(haproxyConfig).toMatch(/^\s*http-check expect status 200$/m);
    const config = loadConfig(envOf(serviceNamed("api-1")));
    expect(haproxyTimeout("server")).toBeGreaterThan(config.queryTimeoutMs + config.load.maxWaitMs);
    // graphql-ws pings every keepAliveMs (src/live/ws-server.ts): a subscription with nothing
    // to say is still never idle as long as the tunnel timeout.
    const keepAliveMs = Number(
      /keepAliveMs = ([\d_]+)/.exec(readFileSync("src/live/ws-server.ts", "utf8"))?.[1]?.replaceAll("_", ""),
    );
    expect(keepAliveMs).toBe(12_000);
    expect(haproxyTimeout("tunnel")).toBeGreaterThanOrEqual(10 * keepAliveMs);
  });

  it("sends each request on a server connection of its own, since Node may be closing an idle one", () => {
    // Node closes an idle keep-alive connection after server.keepAliveTimeout, and the API keeps
    // Node's default: HAProxy reusing one at that moment would answer 502.
    expect(createServer().keepAliveTimeout).toBe(5_000);
    const setting = readdirSync("src", { recursive: true, encoding: "utf8" }).filter(
      (file) => file.endsWith(".ts") && readFileSync(join("src", file), "utf8").includes("keepAliveTimeout"),
    );
    expect(setting).toEqual([]);
    expect(haproxyConfig).toMatch(/^\s*option http-server-close$/m);
    expect(haproxyConfig).not.toMatch(/^\s*http-reuse\s/m);
  });

  it("haproxy -c accepts deploy/haproxy.cfg (the replicas' names resolve only on the compose network)", () => {
    const result = spawnSync(ensureHaproxy(), ["-c", "-f", HAPROXY_CONFIG], { encoding: "utf8" });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status, output).toBe(0);
    // Its only complaints: the servers' names, which Docker's DNS resolves (resolvers docker).
    const complaints = output.split("\n").filter((line) => /\[(WARNING|ALERT)\]/.test(line));
    expect(complaints.map((line) => /could not resolve address '([^']+)'/.exec(line)?.[1] ?? line)).toEqual(
      apis.map(([name]) => name),
    );
  });
});

const RECORD = "mutation lbRecord($input: TradeInput!) { recordTrade(input: $input) { accepted } }";
const TRADE_RECORDED = "subscription lbWatch { tradeRecorded { tradeId } }";

describe("deploy/haproxy.cfg in front of two API processes with the replicas' environment", () => {
  const cleanups: (() => Promise<void>)[] = [];
  const prefix = uniquePrefix("compose");
  const key = SHELL.API_KEYS?.split(":")[2] as string;
  let lb: LocalHaproxy;
  const replicas: { port: number; api: Api; instance: string }[] = [];

  /** Posts through the load balancer (or `url`) with the writer's key. */
  const record = (tradeId: string, url = lb.url) =>
    fetch(`${url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: RECORD, variables: { input: makeTrade(tradeId) } }),
    });
  const recorded = (port: number) =>
    metric(port, 'graphql_operations_total{operation="lbRecord",type="mutation",outcome="ok"}').then((n) =>
      Number.isNaN(n) ? 0 : n,
    );

  beforeAll(async () => {
    ensureHaproxy();
    const { httpPort, pgPort } = inject("questdb");
    for (const [, replica] of apis) {
      const port = await freePort();
      const env: Record<string, string> = {
        ...envOf(replica),
        // This machine instead of the compose network; loopback instead of every interface.
        HOST: "127.0.0.1",
        PORT: String(port),
        QUESTDB_HTTP_ADDR: `127.0.0.1:${httpPort}`,
        QUESTDB_PG_ADDR: `127.0.0.1:${pgPort}`,
        QUESTDB_TABLE_PREFIX: prefix,
        SPOOL_DIR: await mkdtemp(join(tmpdir(), "spool-compose-")),
        DEAD_LETTER_DIR: await mkdtemp(join(tmpdir(), "dead-letter-compose-")),
        // The test's clients are the readers too (writers read by default: WRITER_CAN_READ).
        LOG_LEVEL: "warn",
        WRITE_WORKERS: "0",
        ANALYTICS_WORKERS: "0",
        SYSTEM_METRICS_INTERVAL_MS: "500",
        ALERT_INTERVAL_MS: "0",
      };
      const api = await spawnApi(cleanups, port, env);
      // Ready before HAProxy's first check, so that both start in rotation.
      await eventually(
        () => fetch(`http://127.0.0.1:${port}/ready`).then((r) => (r.ok ? true : undefined)),
        `${env.INSTANCE_ID} ready`,
      );
      replicas.push({ port, api, instance: env.INSTANCE_ID as string });
    }
    lb = await startLocalHaproxy(
      await freePort(),
      replicas.map((r) => r.port),
    );
    cleanups.push(() => lb.stop());
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("spreads requests over both replicas, which write to the one QuestDB under their own INSTANCE_ID", async () => {
    const before = await Promise.all(replicas.map((r) => recorded(r.port)));
    for (let i = 0; i < 10; i++) {
      const response = await record(`lb-rr-${i}`);
      expect(await response.json()).toEqual({ data: { recordTrade: { accepted: 1 } } });
    }
    const after = await Promise.all(replicas.map((r) => recorded(r.port)));
    expect(after.map((n, i) => n - (before[i] as number))).toEqual([5, 5]);
    const tables = tableNames(prefix);
    await eventually(async () => {
      await walApplied(tables.trades);
      const { dataset } = await exec(`SELECT count() FROM ${tables.trades} WHERE trade_id LIKE 'lb-rr-%'`);
      return dataset[0]?.[0] === 10 ? true : undefined;
    }, "10 trades in QuestDB");
    const instances = await eventually(async () => {
      const { dataset } = await exec(`SELECT DISTINCT instance FROM ${tables.system_metrics} ORDER BY instance`);
      return dataset.length === 2 ? dataset.map((row) => row[0]) : undefined;
    }, "system_metrics of both instances");
    expect(instances).toEqual(replicas.map((r) => r.instance));
  });

  it("answers /health and /ready through the load balancer and keeps /metrics per replica", async () => {
    expect((await fetch(`${lb.url}/health`)).status).toBe(200);
    expect((await fetch(`${lb.url}/ready`)).status).toBe(200);
    expect((await fetch(`${lb.url}/metrics`)).status).toBe(404);
    for (const r of replicas) expect((await fetch(`http://127.0.0.1:${r.port}/metrics`)).status).toBe(200);
  });

  /** A tradeRecorded subscription through `url`, as a monitor opens one, collecting `prefix` trades. */
  async function watch(url: string, prefix: string) {
    const seen = { received: [] as string[], errors: [] as unknown[], closeCodes: [] as number[], protocol: "" };
    const client = createClient({
      url: `${url.replace("http", "ws")}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols);
          this.once("open", () => (seen.protocol = this.protocol));
        }
      },
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
      on: { closed: (event) => seen.closeCodes.push((event as { code: number }).code) },
    });
    cleanups.push(async () => client.dispose());
    const before = await Promise.all(replicas.map((r) => metric(r.port, "live_subscribers")));
    const stop = client.subscribe<{ tradeRecorded: { tradeId: string } }>(
      { query: TRADE_RECORDED },
      {
        next: (value) => {
          const trade = value.data?.tradeRecorded;
          if (trade?.tradeId.startsWith(prefix)) seen.received.push(trade.tradeId);
        },
        error: (error) => seen.errors.push(error),
        complete: () => {},
      },
    );
    // The subscription's poller starts from "now" on the replica that holds the socket.
    await eventually(async () => {
      const now = await Promise.all(replicas.map((r) => metric(r.port, "live_subscribers")));
      return now.some((n, i) => n === (before[i] as number) + 1) ? true : undefined;
    }, "the subscription on one replica");
    await new Promise((done) => setTimeout(done, 500));
    return { seen, stop };
  }

  /** One trade written straight to each replica: one through the socket's replica, one through the other. */
  async function recordOnEachReplica(prefix: string) {
    for (const [i, r] of replicas.entries()) {
      const response = await record(`${prefix}${i}`, `http://127.0.0.1:${r.port}`);
      expect(await response.json()).toEqual({ data: { recordTrade: { accepted: 1 } } });
    }
  }

  it("carries a graphql-transport-ws subscription, which sees trades recorded through either replica", async () => {
    const { seen, stop } = await watch(lb.url, "lb-ws-");
    expect(seen.protocol).toBe("graphql-transport-ws");
    await recordOnEachReplica("lb-ws-");
    await eventually(async () => (seen.received.length >= 2 ? true : undefined), "both trades on the subscription");
    stop();
    expect(seen.errors).toEqual([]);
    expect(seen.received.sort()).toEqual(["lb-ws-0", "lb-ws-1"]);
  });

  it("keeps an idle subscription open past the client and server timeouts (timeout tunnel)", async () => {
    // The same file with 1 s client and server timeouts: an upgraded connection answers to
    // `timeout tunnel` only, so 3 s of silence (the API pings every 12 s) must not end it.
    const short = await startLocalHaproxy(
      await freePort(),
      replicas.map((r) => r.port),
      { "timeout client": "1s", "timeout server": "1s" },
    );
    cleanups.push(() => short.stop());
    const { seen, stop } = await watch(short.url, "lb-idle-");
    await new Promise((done) => setTimeout(done, 3_000));
    await recordOnEachReplica("lb-idle-");
    await eventually(async () => (seen.received.length >= 2 ? true : undefined), "both trades after 3 s idle");
    stop();
    expect(seen.closeCodes).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.received.sort()).toEqual(["lb-idle-0", "lb-idle-1"]);
  });

  it("sends every request to the other replica once one has stopped", async () => {
    const [stopping, staying] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    stopping.api.child.kill("SIGTERM");
    expect(await stopping.api.exited).toBe(0);
    const before = await recorded(staying.port);
    for (let i = 0; i < 6; i++) {
      const response = await record(`lb-failover-${i}`);
      expect(await response.json()).toEqual({ data: { recordTrade: { accepted: 1 } } });
    }
    expect((await recorded(staying.port)) - before).toBe(6);
  });
});
