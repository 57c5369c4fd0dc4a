import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { QUESTDB_VERSION } from "../src/questdb/version.ts";
import { printSortedSchema } from "../src/schema/index.ts";

describe("committed artefacts", () => {
  it("schema.graphql is the printed, sorted schema (run `npm run schema` when this fails)", () => {
    expect(readFileSync("schema.graphql", "utf8")).toBe(printSortedSchema());
  });

  it("docker-compose.yml runs the same QuestDB version as the embedded server", () => {
    const compose = readFileSync("docker-compose.yml", "utf8");
    const images = [...compose.matchAll(/image:\s*questdb\/questdb:(\S+)/g)].map((m) => m[1]);
    expect(images).toEqual([QUESTDB_VERSION]);
  });

  it("docker-compose.yml runs the API with keys in production and publishes no QuestDB port", () => {
    const compose = readFileSync("docker-compose.yml", "utf8");
    const questdb = compose.slice(compose.indexOf("  questdb:"), compose.indexOf("  api:"));
    const api = compose.slice(compose.indexOf("  api:"), compose.indexOf("\nnetworks:"));
    expect(questdb).not.toMatch(/^\s+ports:/m);
    expect(questdb).toContain("networks: [internal]");
    expect(compose).toMatch(/internal:\n\s+internal: true/);
    expect(api).toMatch(/API_KEYS: \$\{API_KEYS:\?/);
    expect(api).toContain("NODE_ENV: production");
    expect([...api.matchAll(/^\s+- "(\d+):(\d+)"/gm)].map((m) => m[0].trim())).toEqual(['- "4000:4000"']);
  });

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
