// Stream polls that start in one turn run as one statement (live/union-batch.ts): parameters
// renumbered, `part` numbers moved to a range per poll, rows handed back to each poll with its own
// part numbers, a failure failing every poll of the statement. The real thing: every
// tradeRecorded test (test/live-streams.test.ts runs four filters over one QuestDB).
import { describe, expect, it } from "vitest";
import type { SqlStatement } from "../src/analytics/sql.ts";
import type { LiveQuery } from "../src/live/live-queries.ts";
import { createUnionBatch } from "../src/live/union-batch.ts";

/** A query that records what it is sent and answers the rows `answer` makes from it. */
function fakeQuery(answer: (text: string, params: unknown[]) => { part: number; v: unknown }[]) {
  const sent: { text: string; params: unknown[] }[] = [];
  const query = (async ({ sql: text, params }: SqlStatement) => {
    sent.push({ text, params: [...params] });
    await new Promise((done) => setTimeout(done, 5));
    return answer(text, [...params]);
  }) as LiveQuery;
  return { query, sent };
}

/** Each branch `(SELECT k part, $n v)` answers its part and its parameter, as QuestDB would select them. */
const eachBranch = (text: string, params: unknown[]) =>
  [...text.matchAll(/\(SELECT (\d+) part, \$(\d+) v\)/g)].map((m) => ({
    part: Number(m[1]),
    v: params[Number(m[2]) - 1],
  }));

describe("union batch", () => {
  it("joins the statements sent in one turn, renumbers their parameters and parts, and hands each its rows", async () => {
    const { query, sent } = fakeQuery(eachBranch);
    const union = createUnionBatch(query);
    const a = union({
      name: "poll",
      sql: "(SELECT 0 part, $1 v) UNION ALL (SELECT 1 part, $2 v)",
      params: ["a0", "a1"],
    });
    const b = union({
      name: "poll",
      sql: "(SELECT 0 part, $1 v) UNION ALL (SELECT 1 part, $2 v)",
      params: ["b0", "b1"],
    });
    const c = union({ name: "poll", sql: "(SELECT 0 part, $1 v)", params: ["c0"] });
    expect(await a).toEqual([
      { part: 0, v: "a0" },
      { part: 1, v: "a1" },
    ]);
    expect(await b).toEqual([
      { part: 0, v: "b0" },
      { part: 1, v: "b1" },
    ]);
    expect(await c).toEqual([{ part: 0, v: "c0" }]);
    expect(sent).toEqual([
      {
        text:
          "(SELECT 0 part, $1 v) UNION ALL (SELECT 1 part, $2 v) UNION ALL " +
          "(SELECT 2 part, $3 v) UNION ALL (SELECT 3 part, $4 v) UNION ALL (SELECT 4 part, $5 v)",
        params: ["a0", "a1", "b0", "b1", "c0"],
      },
    ]);
    // A later turn is a statement of its own.
    await union({ name: "poll", sql: "(SELECT 0 part, $1 v)", params: ["d0"] });
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual({ text: "(SELECT 0 part, $1 v)", params: ["d0"] });
  });

  it("joins statements by name only (one shape of columns each): two names in one turn are two statements", async () => {
    const { query, sent } = fakeQuery(eachBranch);
    const union = createUnionBatch(query);
    const calls = [
      union({ name: "tradeRecorded.poll", sql: "(SELECT 0 part, $1 v)", params: ["t0"] }),
      union({
        name: "liveMetrics.poll",
        sql: "(SELECT 0 part, $1 v) UNION ALL (SELECT 1 part, $2 v)",
        params: ["m0", "m1"],
      }),
      union({ name: "tradeRecorded.poll", sql: "(SELECT 0 part, $1 v)", params: ["u0"] }),
      union({
        name: "liveMetrics.poll",
        sql: "(SELECT 0 part, $1 v) UNION ALL (SELECT 1 part, $2 v)",
        params: ["n0", "n1"],
      }),
    ];
    expect(await Promise.all(calls)).toEqual([
      [{ part: 0, v: "t0" }],
      [
        { part: 0, v: "m0" },
        { part: 1, v: "m1" },
      ],
      [{ part: 0, v: "u0" }],
      [
        { part: 0, v: "n0" },
        { part: 1, v: "n1" },
      ],
    ]);
    expect(sent.map((x) => x.params)).toEqual([
      ["t0", "u0"],
      ["m0", "m1", "n0", "n1"],
    ]);
  });

  it("a branch with no rows gives its poll none; $10 and above are renumbered whole", async () => {
    const { query, sent } = fakeQuery(() => [{ part: 1, v: "only the second poll's" }]);
    const union = createUnionBatch(query);
    const params = Array.from({ length: 10 }, (_, i) => i);
    const first = union({ name: "poll", sql: "(SELECT 0 part, x) WHERE a = $1 AND b = $10", params: params });
    const second = union({ name: "poll", sql: "(SELECT 0 part, x) WHERE a = $1 AND b = $10", params: params });
    expect(await first).toEqual([]);
    expect(await second).toEqual([{ part: 0, v: "only the second poll's" }]);
    expect(sent[0]?.text).toBe(
      "(SELECT 0 part, x) WHERE a = $1 AND b = $10 UNION ALL (SELECT 1 part, x) WHERE a = $11 AND b = $20",
    );
  });

  it("a failed statement fails every poll in it, and the next turn runs again", async () => {
    let fail = true;
    const { query } = fakeQuery(() => {
      if (fail) throw new Error("QuestDB said no");
      return [{ part: 0, v: 1 }];
    });
    const union = createUnionBatch(query);
    const results = await Promise.allSettled([
      union({ name: "poll", sql: "(SELECT 0 part, 1 v)", params: [] }),
      union({ name: "poll", sql: "(SELECT 0 part, 1 v)", params: [] }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await union({ name: "poll", sql: "(SELECT 0 part, 1 v)", params: [] })).toEqual([{ part: 0, v: 1 }]);
  });
});
