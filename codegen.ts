// Typed operations for the tests (and an example for clients): `npm run codegen` turns
// test/operations/*.graphql into TypedDocumentNodes checked against schema.graphql.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["test/operations/*.graphql"],
  generates: {
    "test/generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations", "typed-document-node"],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: { Timestamp: "string", Long: { input: "string | number", output: "string" } },
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
      },
    },
  },
};

export default config;
