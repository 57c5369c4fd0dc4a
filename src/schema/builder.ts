// Sets up the Pothos builder; defines nothing (Pothos app-layout guide).
import SchemaBuilder from "@pothos/core";
import type { Context } from "../context.ts";

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    Timestamp: { Input: bigint; Output: bigint };
    Long: { Input: bigint; Output: bigint };
  };
}>({
  // Output fields are non-null unless a field says otherwise.
  defaultFieldNullability: false,
});

builder.queryType({});
builder.mutationType({});
