// `npm run questdb`: a QuestDB server in the foreground for a developer (Ctrl-C stops it).
import { ConfigError, loadConfig } from "../src/config.ts";
import { startEmbeddedQuestDb } from "../src/questdb/embedded.ts";

try {
  const config = loadConfig();
  const { server } = await startEmbeddedQuestDb(config.embedded, (line) => console.log(line));
  console.log(`web console: http://127.0.0.1:${server.httpPort}  (Ctrl-C to stop)`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await server.exited;
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
