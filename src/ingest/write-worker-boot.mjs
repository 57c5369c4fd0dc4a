// A write worker's entry (src/ingest/write-workers.ts starts it): the worker's own code is
// TypeScript, and a worker thread's `--import tsx` comes too late for its entry module, so tsx
// is registered here first.
import { register } from "tsx/esm/api";

register();
await import("./write-worker.ts");
