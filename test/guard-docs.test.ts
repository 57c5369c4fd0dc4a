// The largest legitimate operations (every GraphQL block of the README and docs/queries.md, and
// the operations the tests use) stay under the default limits: they pass the pipeline's parse
// and validation limits on a real server, and their cost with the largest documented variables
// (a page of 1,000, a month of hourly buckets grouped by one key) is under MAX_COST.
import { readdirSync, readFileSync } from "node:fs";
import { Kind, type OperationDefinitionNode, parse, type TypeNode } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.ts";
import { operationCost } from "../src/guard/cost.ts";
import { schema } from "../src/schema/index.ts";
import { startTestApp, type TestApp } from "./support/app.ts";
import { send } from "./support/transports.ts";

const documents: [string, string][] = [];
for (const file of readdirSync("test/operations")) {
  documents.push([`test/operations/${file}`, readFileSync(`test/operations/${file}`, "utf8")]);
}
for (const file of ["README.md", "docs/queries.md", "docs/security.md"]) {
  let i = 0;
  for (const match of readFileSync(file, "utf8").matchAll(/```graphql\n([\s\S]*?)```/g)) {
    documents.push([`${file} block ${++i}`, match[1] as string]);
  }
}

const DAY_MS = 86_400_000;

/** The largest value a documented client would send for a variable of this type. */
function largest(type: TypeNode, name: string): unknown {
  if (type.kind === Kind.NON_NULL_TYPE) return largest(type.type, name);
  if (type.kind === Kind.LIST_TYPE) {
    const item = type.type.kind === Kind.NON_NULL_TYPE ? type.type.type : type.type;
    if (item.kind === Kind.NAMED_TYPE && item.name.value === "TradeGroupKey") return ["PAIR"];
    if (item.kind === Kind.NAMED_TYPE && item.name.value === "MevGroupKey") return ["PROTECTION"];
    return undefined;
  }
  switch (type.name.value) {
    case "Int":
      return /first|n$|limit/i.test(name) ? 1_000 : undefined;
    case "TimeRange":
      return { from: new Date(Date.now() - 30 * DAY_MS).toISOString(), to: new Date().toISOString() };
    case "TimeBucket":
      return "HOUR";
    default:
      return undefined;
  }
}

describe("the documented operations under the default limits", () => {
  const limits = loadConfig({}).limits;
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp("guarddocs", { API_KEYS: "ops:admin:ops-key-0123456789abcdef" });
  });

  it("finds the documented operations", () => {
    expect(documents.length).toBeGreaterThan(10);
  });

  it.each(documents)("%s passes the parse and validation limits", async (_name, text) => {
    const answer = await send(t.url, "lean", { query: text }, { key: "ops-key-0123456789abcdef" });
    const limited = (answer.errors ?? []).filter((e) => e.extensions?.code === "LIMIT_EXCEEDED");
    expect(limited).toEqual([]);
  });

  it.each(documents)("%s costs less than MAX_COST with the largest documented variables", (_name, text) => {
    const document = parse(text);
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const operation = definition as OperationDefinitionNode;
      const variables = Object.fromEntries(
        (operation.variableDefinitions ?? []).map((v) => [
          v.variable.name.value,
          largest(v.type, v.variable.name.value),
        ]),
      );
      expect(operationCost(schema, document, operation, variables)).toBeLessThan(limits.maxCost);
    }
  });
});
