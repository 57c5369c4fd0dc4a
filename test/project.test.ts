import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printSortedSchema } from "../src/schema/index.ts";

describe("committed artefacts", () => {
  it("schema.graphql is the printed, sorted schema (run `npm run schema` when this fails)", () => {
    expect(readFileSync("schema.graphql", "utf8")).toBe(printSortedSchema());
  });

  // docker-compose.yml and deploy/haproxy.cfg: test/compose.test.ts.

  it(".env.example and the README document every variable config.ts reads", () => {
    const source = readFileSync("src/config.ts", "utf8");
    const read = [...source.matchAll(/(?:read|int|address|bool)\("([A-Z_]+)"/g)].map((m) => m[1] as string);
    const example = readFileSync(".env.example", "utf8");
    const readme = readFileSync("README.md", "utf8");
    expect(read.length).toBeGreaterThan(10);
    for (const name of new Set(read)) {
      expect(example, name).toMatch(new RegExp(`^#? ?${name}=`, "m"));
      expect(readme, name).toContain(`\`${name}\``);
    }
  });
});
