import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module). Node, and so graphql-yoga, load the CJS
    // build; Vite would give our sources the ESM one, and two GraphQLError classes make Yoga
    // mask our client errors. Point every import at the build Node uses.
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // One QuestDB server for the whole run (test/support/global-setup.ts); files share it and
    // isolate themselves with their own table prefix.
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: QuestDB needs one of them.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
