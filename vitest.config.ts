import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

/**
 * Files that measure latency under attack or fault (victim p99, /ready within a second, alert
 * timers) or start several API processes and QuestDBs of their own: run one at a time, after the
 * rest, so that neither disturbs the other on two cores.
 */
const ALONE = [
  "test/guard-attacks.test.ts",
  "test/overload.test.ts",
  "test/alerts.test.ts",
  "test/durability.test.ts",
  "test/instances.test.ts",
  "test/compose.test.ts",
];

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module). Node, and so graphql-yoga, load the CJS
    // build; Vite would give our sources the ESM one, and two GraphQLError classes make Yoga
    // mask our client errors. Point every import at the build Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: QuestDB needs one of them.
    maxWorkers: 2,
    reporters: ["default"],
    // One QuestDB server per project (test/support/global-setup.ts, named in each project: at the
    // root it would start one more); files share it and isolate themselves with their own table
    // prefix.
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          globalSetup: ["test/support/global-setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: ALONE,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "alone",
          globalSetup: ["test/support/global-setup.ts"],
          include: ALONE,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
