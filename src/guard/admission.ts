// Stages 2 and 3 of the request pipeline (docs/security.md): authentication (the key names a
// caller with a role) and the caller's rate limit. Both run on headers or connection parameters
// alone, before a byte of GraphQL is parsed.
import type { GraphQLError } from "graphql";
import { clientError } from "../errors.ts";
import { bearerKey, type Caller, type KeyRing } from "./keys.ts";
import type { RateLimiter } from "./rate-limit.ts";

export const MISSING_KEY_MESSAGE =
  "Authentication required: send the header `Authorization: Bearer <API key>` (over WebSockets, the connection parameter `authorization`)";
export const INVALID_KEY_MESSAGE = "Authentication failed: the API key is not valid";

export interface Admission {
  /** Stage 2: the caller an Authorization value belongs to, or UNAUTHENTICATED (never echoing the key). */
  authenticate(authorization: string | null | undefined): Caller | GraphQLError;
  /** Stage 3: RATE_LIMITED when the caller has no request left this second. */
  rateLimit(caller: Caller): GraphQLError | undefined;
  /** Both, in order. */
  admit(authorization: string | null | undefined): Caller | GraphQLError;
}

export function createAdmission(options: { keys: KeyRing; limiter: RateLimiter; perSecond: number }): Admission {
  const { keys, limiter, perSecond } = options;
  const authenticate = (authorization: string | null | undefined): Caller | GraphQLError => {
    const found = keys.identify(bearerKey(authorization));
    if (found === "missing") return clientError("UNAUTHENTICATED", MISSING_KEY_MESSAGE);
    if (found === "invalid") return clientError("UNAUTHENTICATED", INVALID_KEY_MESSAGE);
    return found;
  };
  const rateLimit = (caller: Caller): GraphQLError | undefined => {
    const waitMs = limiter.take(caller.name);
    if (waitMs === undefined) return undefined;
    return clientError(
      "RATE_LIMITED",
      `Rate limit: the key ${caller.name} sent more than ${perSecond} requests per second (RATE_LIMIT_PER_SECOND); retry after ${waitMs} ms`,
      { retryable: true, retryAfterMs: waitMs },
    );
  };
  return {
    authenticate,
    rateLimit,
    admit(authorization) {
      const caller = authenticate(authorization);
      if (!("role" in caller)) return caller;
      return rateLimit(caller) ?? caller;
    },
  };
}

export const isCaller = (value: Caller | GraphQLError): value is Caller => "role" in value && "name" in value;
