// Run as a child process by local-server.test.ts: starts QuestDB, prints its PID, then waits
// to be killed.
import { startLocalQuestDb } from "../../src/questdb/local-server.ts";

const [jarDir, rootDir] = process.argv.slice(2) as [string, string];
const server = await startLocalQuestDb({ jarDir, rootDir, httpPort: 0, pgPort: 0 });
process.stdout.write(`${server.pid} ${server.httpPort}\n`);
setInterval(() => {}, 60_000);
