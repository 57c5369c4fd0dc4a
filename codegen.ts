// Typed operations: `npm run codegen` turns test/operations/*.graphql (the tests') and
// examples/operations/*.graphql (the example clients') into TypedDocumentNodes checked against
// schema.graphql.
import type { CodegenConfig } from "@graphql-codegen/cli";

const output = {
  plugins: ["typescript", "typescript-operations", "typed-document-node"],
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    strictScalars: true,
    scalars: { Timestamp: "string", Long: { input: "string | number", output: "string" } },
    avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
  },
};

const config: CodegenConfig = {
  schema: "schema.graphql",
  generates: {
    "test/generated/graphql.ts": { ...output, documents: ["test/operations/*.graphql"] },
    "examples/generated/graphql.ts": { ...output, documents: ["examples/operations/*.graphql"] },
  },
};

export default config;
