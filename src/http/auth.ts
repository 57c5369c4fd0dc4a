// API-key authentication, applied where the GraphQL context is built, so every transport
// (Yoga's HTTP path, the lean POST path, graphql-ws) goes through the same check.
import { createHash, timingSafeEqual } from "node:crypto";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

export type Role = "admin" | "client" | "anonymous";

export interface Caller {
  role: Role;
}

export interface AuthOptions {
  /** Keys of bots and dashboards. Empty with no admin keys: authentication is off. */
  apiKeys: readonly string[];
  /** Keys that may also change configuration (alert rules). */
  adminKeys: readonly string[];
}

const digest = (key: string) => createHash("sha256").update(key).digest();

/** What the transports hand to the context: an HTTP request's headers or WS connection params. */
interface InitialContext {
  request?: { headers: { get(name: string): string | null } };
  connectionParams?: Readonly<Record<string, unknown>>;
}

export function createAuthenticator(options: AuthOptions) {
  const clients = options.apiKeys.map(digest);
  const admins = options.adminKeys.map(digest);
  const enabled = clients.length + admins.length > 0;
  const matches = (candidate: Buffer, keys: Buffer[]) => keys.some((key) => timingSafeEqual(key, candidate));

  /** The caller's role, or a GraphQLError (401) naming what to send. Never echoes the key. */
  const authenticate = (presented: string | undefined): Caller => {
    if (presented !== undefined && presented !== "") {
      const candidate = digest(presented);
      if (matches(candidate, admins)) return { role: "admin" };
      if (matches(candidate, clients)) return { role: "client" };
    }
    if (!enabled) return { role: "anonymous" };
    throw new GraphQLError(
      presented
        ? "Authentication failed: the API key is not valid"
        : "Authentication required: send the header `Authorization: Bearer <API key>` (over WebSockets, the connection parameter `authorization`)",
      { extensions: { code: "UNAUTHENTICATED", http: { status: 401 } } },
    );
  };

  const presentedKey = (context: InitialContext): string | undefined => {
    const header =
      context.request?.headers.get("authorization") ??
      (typeof context.connectionParams?.authorization === "string" ? context.connectionParams.authorization : null);
    if (!header) return undefined;
    return header.replace(/^Bearer\s+/i, "");
  };

  const plugin: Plugin<{ caller?: Caller }> = {
    onContextBuilding({ context, extendContext }) {
      extendContext({ caller: authenticate(presentedKey(context as InitialContext)) });
    },
  };

  return { enabled, authenticate, presentedKey, plugin };
}

/** For admin-only fields. */
export function requireAdmin(caller: Caller | undefined): void {
  if (caller?.role !== "admin") {
    throw new GraphQLError("This needs an admin API key (ADMIN_API_KEYS)", {
      extensions: { code: "FORBIDDEN", http: { status: 403 } },
    });
  }
}
