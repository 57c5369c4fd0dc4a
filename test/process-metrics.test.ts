// The process metrics prom-client counts in O(connections) on the event loop (src/http/metrics.ts,
// replaceConnectionCounts): the same names, labels and values, the descriptors read without a
// synchronous readdir.
import fs from "node:fs";
import net from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { replaceConnectionCounts } from "../src/http/metrics.ts";

const value = (text: string, line: RegExp) => {
  const found = text.split("\n").filter((l) => line.test(l));
  return found.map((l) => Number(l.split(" ").at(-1)));
};

describe("process metrics with many sockets open", () => {
  const sockets: net.Socket[] = [];
  let server: net.Server;
  beforeAll(async () => {
    let accepted = 0;
    let allAccepted = () => {};
    const all = new Promise<void>((done) => {
      allAccepted = done;
    });
    server = net.createServer((socket) => {
      sockets.push(socket);
      if (++accepted === 200) allAccepted();
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const { port } = server.address() as net.AddressInfo;
    await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          new Promise<void>((done) => {
            sockets.push(net.connect(port, "127.0.0.1", done));
          }),
      ),
    );
    await all;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((done) => server.close(done));
  });

  it("gives prom-client's names and figures, without a synchronous readdir", async () => {
    const original = new Registry();
    collectDefaultMetrics({ register: original });
    const replaced = new Registry();
    collectDefaultMetrics({ register: replaced });
    replaceConnectionCounts(replaced);

    const before = await original.metrics();
    const readdirSync = fs.readdirSync;
    let syncListings = 0;
    fs.readdirSync = ((...args: Parameters<typeof readdirSync>) => {
      syncListings++;
      return readdirSync(...args);
    }) as typeof readdirSync;
    let after: string;
    try {
      after = await replaced.metrics();
    } finally {
      fs.readdirSync = readdirSync;
    }
    expect(syncListings).toBe(0);

    // The same families, each with its HELP and TYPE.
    const families = (text: string) => text.split("\n").filter((l) => l.startsWith("# "));
    expect(families(after).sort()).toEqual(families(before).sort());

    const fds = fs.readdirSync("/proc/self/fd").length - 1;
    const [openFds] = value(after, /^process_open_fds /);
    // Within a few descriptors of a count taken now (the registries' own work opens none for long).
    expect(openFds).toBeGreaterThanOrEqual(400);
    expect(Math.abs((openFds as number) - fds)).toBeLessThanOrEqual(5);
    expect(Math.abs((openFds as number) - (value(before, /^process_open_fds /)[0] as number))).toBeLessThanOrEqual(5);

    const [total] = value(after, /^nodejs_active_handles_total /);
    expect(total).toBe(value(before, /^nodejs_active_handles_total /)[0]);
    const byType = (text: string): Record<string, number> =>
      Object.fromEntries(
        text
          .split("\n")
          .filter((l) => l.startsWith("nodejs_active_handles{"))
          .map((l) => [/type="([^"]*)"/.exec(l)?.[1] ?? "", Number(l.split(" ").at(-1))]),
      );
    expect(byType(after)).toEqual(byType(before));
    expect(Object.values(byType(after)).reduce((a, b) => a + b, 0)).toBe(total);
    expect(byType(after).Socket).toBeGreaterThanOrEqual(400);
  });
});
