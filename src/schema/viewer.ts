// viewer: who the caller is (the key's name and role), so that a page shows what the key may do.
import type { Caller } from "../guard/keys.ts";
import { builder } from "./builder.ts";

const ViewerRef = builder.objectRef<Caller>("Viewer").implement({
  description: "The API key a request was made with: its name and role (never the key).",
  fields: (t) => ({
    name: t.exposeString("name", { description: '"anonymous" when the server runs without keys.' }),
    role: t.exposeString("role", { description: "reader, writer or admin (admin when the server runs without keys)." }),
  }),
});

builder.queryFields((t) => ({
  viewer: t.field({
    type: ViewerRef,
    description: "The caller's key name and role.",
    resolve: (_root, _args, context) => context.caller ?? { name: "anonymous", role: "reader" as const },
  }),
}));
