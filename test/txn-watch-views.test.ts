// Which probes read materialized_views() (questdb/txn-watch.ts), with a scripted runner: a base
// table `t` and its view `v` (whose own table wal_tables() lists as `v`). The reuse of a quiet
// view's state against the real QuestDB is in txn-watch.test.ts.
import { describe, expect, it } from "vitest";
import type { SqlRunner, SqlStatement } from "../src/analytics/sql.ts";
import { createTxnWatch } from "../src/questdb/txn-watch.ts";

function scripted() {
  const state = { t: { writer: 1, sequencer: 1 }, v: { writer: 1, sequencer: 1 }, baseTxn: 1 };
  const kinds: ("views" | "tables")[] = [];
  const table = (name: string, txn: { writer: number; sequencer: number }) => ({
    name,
    writerTxn: String(txn.writer),
    sequencerTxn: String(txn.sequencer),
    suspended: false,
    base: null,
  });
  const runner: SqlRunner = {
    async query<R>(statement: SqlStatement): Promise<R[]> {
      if (statement.name === "txn.ttl")
        return [{ table_name: "t", ttlValue: 0, ttlUnit: "DAY", partitionBy: "DAY" }] as R[];
      if (statement.name === "txn.ranges") {
        const [after, upto] = statement.params as [bigint, bigint];
        const rows = [];
        for (let n = after + 1n; n <= upto; n++) rows.push({ sequencerTxn: String(n), lo: "0", hi: "0" });
        return rows as R[];
      }
      const views = statement.sql.includes("materialized_views()");
      kinds.push(views ? "views" : "tables");
      const rows: unknown[] = [table("t", state.t), table("v", state.v)];
      if (views) {
        rows.unshift({
          name: "v",
          writerTxn: String(state.baseTxn),
          sequencerTxn: String(state.t.sequencer),
          base: "t",
          status: "valid",
          period_hi: null,
        });
      }
      return rows as R[];
    },
    stats: () => ({ statements: 0, failed: 0, byName: {}, rowsByName: {} }),
  };
  /** A bot's commit to `t`, refreshed into `v` (applied at once unless told). */
  const write = (apply = true) => {
    state.t.sequencer++;
    if (apply) {
      state.t.writer = state.t.sequencer;
      state.baseTxn = state.t.writer;
      state.v.sequencer++;
      state.v.writer = state.v.sequencer;
    }
  };
  const apply = () => {
    state.t.writer = state.t.sequencer;
    state.baseTxn = state.t.writer;
    state.v.sequencer++;
    state.v.writer = state.v.sequencer;
  };
  return { runner, kinds, write, apply, state };
}

describe("the transaction watcher's view probes", () => {
  it("reads a quiet view's state once, a moving view's in every probe its callers wait with", async () => {
    const db = scripted();
    const watch = createTxnWatch({ runner: db.runner, idleProbeMs: 0 });
    expect((await watch.snapshot(["t"], ["v"])).views.get("v")?.baseTxn).toBe(1n);
    expect((await watch.snapshot(["t"], ["v"])).views.get("v")?.baseTxn).toBe(1n);
    expect(db.kinds).toEqual(["views", "tables"]);
    // Refreshed behind the watcher's back: a tables-only probe sees the view's own table moved, and
    // a view probe follows.
    db.write();
    expect((await watch.snapshot(["t"], ["v"])).views.get("v")?.baseTxn).toBe(2n);
    expect(db.kinds.slice(2)).toEqual(["tables", "views"]);
    // Moving now: a commit not applied yet is waited for with view probes, and the snapshot that
    // shows it applied has the view's state (no probe more).
    db.write(false);
    const waiting = watch.snapshot(["t"], ["v"]);
    setTimeout(db.apply, 20);
    const snapshot = await waiting;
    expect(snapshot.tables.get("t")?.writerTxn).toBe(3n);
    expect(snapshot.views.get("v")?.baseTxn).toBe(3n);
    const since = db.kinds.slice(4);
    expect(since.length).toBeGreaterThan(1);
    expect(since.every((kind) => kind === "views")).toBe(true);
    // A caller that reads no view never costs one.
    const before = db.kinds.length;
    await watch.snapshot(["t"]);
    expect(db.kinds.slice(before)).toEqual(["tables"]);
  });

  it("remembers a view's latest settled reading: none taken while a refresh is committed and not applied", async () => {
    const db = scripted();
    const watch = createTxnWatch({ runner: db.runner, idleProbeMs: 0, viewMovingMs: 60_000 });
    await watch.snapshot(["t"], ["v"]);
    expect(watch.settledView("v")).toMatchObject({ ownWriterTxn: 1n, state: { baseTxn: 1n } });
    // A refresh of base transaction 2 committed to the view, not applied: the reading says 2, the
    // view still shows 1.
    db.state.t.sequencer = 2;
    db.state.t.writer = 2;
    db.state.baseTxn = 2;
    db.state.v.sequencer = 2;
    const pending = await watch.snapshot(["t"], ["v"]);
    expect(pending.views.get("v")?.baseTxn).toBe(2n);
    expect(watch.settledView("v")).toMatchObject({ ownWriterTxn: 1n, state: { baseTxn: 1n } });
    db.state.v.writer = 2;
    await watch.snapshot(["t"], ["v"]);
    expect(watch.settledView("v")).toMatchObject({ ownWriterTxn: 2n, state: { baseTxn: 2n } });
    // Its numbers went back (dropped and made again): the reading is forgotten.
    db.state.v.writer = 0;
    db.state.v.sequencer = 1;
    await watch.snapshot(["t"]);
    expect(watch.settledView("v")).toBeUndefined();
  });
});
