// ILP over HTTP. Rows are encoded as @questdb/nodejs-client's SenderBuffer encodes them with
// protocol version 2 (pinned, so nothing ever asks QuestDB's /settings), by our faster buffer
// (questdb/ilp-buffer.ts); the HTTP request is ours. The client's own transport retries inside send() and reports every
// failure as one Error string, a socket closed mid-request is not retried, and a failed flush
// loses the rows (DESIGN.md, "Pitfalls"). Here every outcome is classified, the caller keeps
// the encoded bytes until a 204, and retrying is the batch writer's decision.
import http from "node:http";
import { FastIlpBuffer, type IlpBuffer } from "./ilp-buffer.ts";

export interface IlpClientOptions {
  host: string;
  port: number;
  user?: string | undefined;
  password?: string | undefined;
  /** Per-request timeout (no response in time → retriable). Default 30 s. */
  requestTimeoutMs?: number;
}

export type IlpResult =
  | { kind: "ok" }
  /** Worth retrying: refused, reset, timed out, 5xx. */
  | { kind: "retriable"; reason: string }
  /** QuestDB looked at the data and refused it (4xx): retrying would not help. */
  | { kind: "rejected"; status: number; reason: string };

export interface IlpClient {
  /** A fresh, empty row buffer (protocol version 2). */
  newBuffer(): IlpBuffer;
  /** POSTs one table's encoded rows; never throws. */
  write(body: Buffer): Promise<IlpResult>;
  close(): void;
}

const RETRIABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504, 507, 509, 523, 524, 529, 599]);

/** A fresh, empty ILP row buffer (protocol version 2), for encoding rows anywhere, e.g. in a worker. */
export function newIlpBuffer(): IlpBuffer {
  return new FastIlpBuffer();
}

export function createIlpClient(options: IlpClientOptions): IlpClient {
  const { host, port, user, password, requestTimeoutMs = 30_000 } = options;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const authorization =
    user !== undefined && password !== undefined
      ? `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
      : undefined;

  const write = (body: Buffer): Promise<IlpResult> =>
    new Promise((resolve) => {
      let settled = false;
      const settle = (result: IlpResult) => {
        if (!settled) {
          settled = true;
          resolve(result);
        }
      };
      const headers: http.OutgoingHttpHeaders = {
        "content-type": "text/plain",
        "content-length": body.length,
      };
      if (authorization) headers.authorization = authorization;
      const req = http.request(
        { host, port, agent, method: "POST", path: "/write?precision=n", headers, timeout: requestTimeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => settle({ kind: "retriable", reason: `response aborted: ${error.message}` }));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8").slice(0, 2000);
            if (status === 204 || status === 200) settle({ kind: "ok" });
            else if (RETRIABLE_STATUS.has(status) || status >= 500) {
              settle({ kind: "retriable", reason: `HTTP ${status}: ${text}` });
            } else settle({ kind: "rejected", status, reason: describeRejection(status, text) });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no response within ${requestTimeoutMs} ms`)));
      req.on("error", (error: NodeJS.ErrnoException) =>
        settle({ kind: "retriable", reason: error.code ? `${error.code}: ${error.message}` : error.message }),
      );
      req.end(body);
    });

  return {
    newBuffer: newIlpBuffer,
    write,
    close: () => agent.destroy(),
  };
}

function describeRejection(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: string; line?: number; errorId?: string };
    if (parsed.message) return `HTTP ${status}: ${parsed.message}${parsed.line ? ` (line ${parsed.line})` : ""}`;
  } catch {
    // not JSON: fall through
  }
  return `HTTP ${status}: ${body}`;
}
