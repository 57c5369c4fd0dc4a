// Starts the real app (real HTTP server on a free port) against the shared QuestDB.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { type ExecutionResult, execute, print } from "graphql";
import pino from "pino";
import { afterAll } from "vitest";
import { type App, type AppOptions, buildApp } from "../../src/app.ts";
import { type Context, createContext } from "../../src/context.ts";
import type { Caller } from "../../src/http/auth.ts";
import { schema } from "../../src/schema/index.ts";
import { questdbAddress, testConfig, uniquePrefix } from "./questdb.ts";

export interface TestApp {
  app: App;
  url: string;
  prefix: string;
  deadLetterDir: string;
  gql<R, V>(document: TypedDocumentNode<R, V>, variables?: V): Promise<GraphQLResponse<R>>;
}

export interface GraphQLResponse<R> {
  data?: R | null;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: unknown[] }[];
}

const running: App[] = [];
afterAll(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

export async function postGraphQL<R, V>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables?: V,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<R>> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return (await response.json()) as GraphQLResponse<R>;
}

export async function startTestApp(
  label: string,
  env: Record<string, string> = {},
  options: Partial<Omit<AppOptions, "config">> = {},
): Promise<TestApp> {
  const prefix = uniquePrefix(label);
  const config = testConfig({ QUESTDB_TABLE_PREFIX: prefix, ...env });
  const deadLetterDir = await mkdtemp(join(tmpdir(), "dead-letter-"));
  const app = buildApp({
    config,
    questdb: questdbAddress(),
    log: pino({ level: "silent" }),
    deadLetterDir,
    ...options,
  });
  running.push(app);
  const url = await app.start(0, "127.0.0.1");
  // With authentication on, the helper sends the first admin key (else the first key).
  const entries = (env.API_KEYS ?? "").split(",").filter(Boolean);
  const secret = (entry: string) =>
    /^[^:]*:(reader|writer|admin):/.exec(entry) ? entry.split(":").slice(2).join(":") : entry;
  const key =
    env.ADMIN_API_KEYS?.split(",")[0] ??
    [entries.find((e) => e.includes(":admin:")), entries[0]].filter((e) => e !== undefined).map((e) => secret(e))[0];
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  return {
    app,
    url,
    prefix,
    deadLetterDir,
    gql: (document, variables) => postGraphQL(url, document, variables, headers),
  };
}

/**
 * Runs an operation in process against the app's services as the API key named `name`, with the
 * caller the auth plugin puts in the context (the name is what rows record as their writer).
 */
export async function executeAs<R, V>(
  app: App,
  name: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
): Promise<ExecutionResult<R>> {
  // Cast through unknown: Caller is gaining `name` (and new role names) in the auth work.
  const caller: Caller = { role: "writer", name };
  const contextValue: Context = { ...createContext(app.services), caller };
  return (await execute({
    schema,
    document,
    variableValues: variables as Record<string, unknown>,
    contextValue,
  })) as ExecutionResult<R>;
}
