// The embedded default: when no QuestDB address is configured, run one from the project folder.
import { join } from "node:path";
import type { EmbeddedQuestDb, QuestDbAddress } from "../config.ts";
import { type LocalQuestDb, startLocalQuestDb } from "./local-server.ts";

export async function startEmbeddedQuestDb(
  embedded: EmbeddedQuestDb,
  log: (line: string) => void,
): Promise<{ server: LocalQuestDb; address: QuestDbAddress }> {
  const server = await startLocalQuestDb({
    jarDir: embedded.dir,
    rootDir: join(embedded.dir, "data"),
    httpPort: embedded.httpPort,
    pgPort: embedded.pgPort,
    java: embedded.java,
    log,
  });
  return { server, address: localAddress(server.httpPort, server.pgPort) };
}

/** A QuestDB on this machine with its default credentials (the embedded one, or a test's). */
export function localAddress(httpPort: number, pgPort: number): QuestDbAddress {
  return {
    httpHost: "127.0.0.1",
    httpPort,
    httpUser: undefined,
    httpPassword: undefined,
    pgHost: "127.0.0.1",
    pgPort,
    pgUser: "admin",
    pgPassword: "quest",
    pgDatabase: "qdb",
  };
}
