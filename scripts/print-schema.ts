// `npm run schema`: writes the printed, sorted SDL to schema.graphql.
import { writeFileSync } from "node:fs";
import { printSortedSchema } from "../src/schema/index.ts";

writeFileSync(new URL("../schema.graphql", import.meta.url), printSortedSchema());
console.log("wrote schema.graphql");
