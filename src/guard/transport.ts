// Stage 1 of the request pipeline (docs/security.md): checks made on a request's method and
// headers before anything else, for HTTP requests and WebSocket upgrades alike:
// - Host: only names this server answers to (DNS rebinding: a page on evil.example resolving to
//   127.0.0.1 sends `Host: evil.example`);
// - Origin: a browser's cross-site request is refused unless its origin is the API's own or
//   configured (ALLOWED_ORIGINS), so no page can drive the API with the operator's network access;
// - CSRF: requests a browser sends without a CORS preflight (GET, or a form/text body) must carry
//   a custom header, the rule of Yoga's own useCSRFPrevention plugin, which is what runs here;
// - declared body size (Content-Length) against MAX_BODY_BYTES.
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import type { GraphQLError } from "graphql";
import { hostName } from "../config.ts";
import { clientError, LimitError } from "../errors.ts";

/** What the checks read of a request: its headers (Fetch-style). */
export interface HeaderSource {
  get(name: string): string | null;
  has(name: string): boolean;
}

export interface TransportOptions {
  /** Host header names accepted (lower case, no port), or "*". */
  allowedHosts: readonly string[] | "*";
  /** Cross-origin browser origins allowed besides the API's own. */
  allowedOrigins: readonly string[];
  /** Whether preflight-less requests need the CSRF header. */
  csrfPrevention: boolean;
  maxBodyBytes: number;
}

/** The header a non-browser client (or a page) adds to GET and form-style requests. */
export const CSRF_HEADER = "x-graphql-yoga-csrf";

export interface TransportChecks {
  /** The Host header check (every path). */
  host(headers: HeaderSource): GraphQLError | undefined;
  /** Origin, CSRF and declared body size, for requests to the GraphQL endpoint. */
  request(method: string, headers: HeaderSource): GraphQLError | undefined;
  /** Origin only: WebSocket upgrades (browsers always send Origin there) and GraphiQL's page. */
  origin(headers: HeaderSource): GraphQLError | undefined;
  /** CORS settings for Yoga: the request's origin when it is allowed, otherwise none. */
  cors(request: { headers: HeaderSource }): false | { origin: string[]; credentials: boolean; methods: string[] };
}

export function createTransportChecks(options: TransportOptions): TransportChecks {
  const { allowedHosts, allowedOrigins, csrfPrevention, maxBodyBytes } = options;
  const csrf = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] });

  const hostOf = (headers: HeaderSource): string | undefined => {
    const raw = headers.get("host");
    if (!raw) return undefined;
    // host[:port], [v6][:port]
    const match = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(raw.trim());
    return match ? hostName(match[1] as string) : undefined;
  };

  const originAllowed = (headers: HeaderSource): boolean => {
    const origin = headers.get("origin");
    if (origin === null) return true; // not a browser's cross-origin request
    if (allowedOrigins.includes(origin)) return true;
    // The API's own pages (GraphiQL): the origin names the host the request was sent to.
    const host = headers.get("host");
    try {
      const url = new URL(origin);
      return (
        (url.protocol === "http:" || url.protocol === "https:") && host !== null && url.host === host.toLowerCase()
      );
    } catch {
      return false; // "null" (sandboxed frames, file://) and garbage
    }
  };

  const foreignOrigin = () =>
    clientError(
      "FORBIDDEN",
      "Cross-origin request refused: this Origin is not allowed; add it to ALLOWED_ORIGINS to let its pages call the API",
    );

  return {
    host(headers) {
      if (allowedHosts === "*") return undefined;
      const host = hostOf(headers);
      if (host !== undefined && allowedHosts.includes(host)) return undefined;
      return clientError(
        "FORBIDDEN",
        "Request refused: the Host header names a host this server does not serve; add the name to ALLOWED_HOSTS",
      );
    },

    request(method, headers) {
      if (!originAllowed(headers)) return foreignOrigin();
      if (csrfPrevention && method !== "OPTIONS") {
        try {
          (csrf.onRequestParse as (payload: unknown) => void)({ request: { headers } });
        } catch {
          return clientError(
            "FORBIDDEN",
            `Request refused (CSRF prevention): send the header \`${CSRF_HEADER}: 1\` with GET requests and with form or text/plain bodies, or post JSON`,
          );
        }
      }
      const declared = headers.get("content-length");
      if (declared !== null && Number(declared) > maxBodyBytes) {
        return new LimitError("MAX_BODY_BYTES", maxBodyBytes, Number(declared), "The request body (bytes)");
      }
      return undefined;
    },

    origin(headers) {
      return originAllowed(headers) ? undefined : foreignOrigin();
    },

    cors(request) {
      const origin = request.headers.get("origin");
      if (origin === null || !originAllowed(request.headers)) return false;
      // Keys travel in the Authorization header, never in cookies: no credentials.
      return { origin: [origin], credentials: false, methods: ["GET", "POST", "OPTIONS"] };
    },
  };
}
