// A minimal HTTP/1.1 client for the query benchmark: one keep-alive socket, one request at a time,
// the request bytes built once per query, the answer read by its Content-Length. Node's http
// module spends about 0.3–0.4 ms of JavaScript per request on this machine (ClientRequest, header
// handling, IncomingMessage), which would be charged to the server in an end-to-end figure; a
// dashboard's client (a browser, Grafana's Go client) has its own, not ours. The time measured is
// from writing the request to having the whole answer parsed as JSON (returned as parsed).
import net from "node:net";

export interface LeanResponse {
  status: number;
  /** The answer, parsed as JSON (inside the timed span, as any client would). */
  json: unknown;
  ms: number;
}

export interface LeanHttpClient {
  /**
   * Prepares a POST of `payload` (JSON) to `path`, with `headers` besides the fixed ones (e.g.
   * `{ authorization: "Bearer …" }`); calling the result sends it.
   */
  prepare(path: string, payload: string, headers?: Record<string, string>): () => Promise<LeanResponse>;
  close(): void;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export async function connectLeanHttp(host: string, port: number): Promise<LeanHttpClient> {
  let waiting: { resolve: (r: LeanResponse) => void; reject: (e: Error) => void; started: number } | undefined;
  /** What has arrived of the answer's head (joined once it is whole). */
  let chunks: Buffer[] = [];
  /** The answer's head once read. */
  let head: { status: number } | undefined;
  let closed = false;

  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  /** The answer's body once its head is read: filled as chunks arrive (no joining of a 2 MB answer at its end). */
  let body: { bytes: Buffer; filled: number } | undefined;
  const onData = (chunk: Buffer) => {
    if (!head) {
      chunks.push(chunk);
      // The head is read once: joining every chunk as it arrives would copy a 2 MB answer ~40 times.
      const buffered = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      const end = buffered.indexOf(HEADER_END);
      if (end < 0) return;
      const text = buffered.subarray(0, end).toString("latin1");
      const length = /\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1];
      if (length === undefined) {
        fail(new Error(`an answer without Content-Length: ${text.split("\r\n")[0]}`));
        return;
      }
      const bodyStart = end + HEADER_END.length;
      head = { status: Number(text.slice(9, 12)) };
      body = { bytes: Buffer.allocUnsafe(Number(length)), filled: 0 };
      chunks = [];
      chunk = buffered.subarray(bodyStart);
    }
    const into = body as { bytes: Buffer; filled: number };
    const take = Math.min(chunk.length, into.bytes.length - into.filled);
    chunk.copy(into.bytes, into.filled, 0, take);
    into.filled += take;
    if (into.filled < into.bytes.length) return;
    const rest = chunk.subarray(take);
    const { status } = head;
    head = undefined;
    body = undefined;
    const w = waiting;
    waiting = undefined;
    if (w) {
      const json: unknown = JSON.parse(into.bytes.toString("utf8"));
      w.resolve({ status, json, ms: performance.now() - w.started });
    }
    if (rest.length > 0) onData(rest);
  };

  /** A connected socket: the server closes idle keep-alive connections (5 s), so reconnect then. */
  const connect = async (): Promise<net.Socket> => {
    const next = net.connect(port, host);
    next.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      next.once("connect", resolve);
      next.once("error", reject);
    });
    chunks = [];
    head = undefined;
    body = undefined;
    next.on("error", fail);
    next.on("close", () => {
      if (socket !== next) return;
      socketGone = true;
      fail(new Error("the server closed the connection"));
    });
    next.on("data", onData);
    return next;
  };
  let socketGone = false;
  let socket = await connect();

  return {
    prepare(path, payload, headers = {}) {
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("");
      const request = Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\n${extra}` +
          `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
      );
      return async () => {
        if (closed) throw new Error("the client is closed");
        if (waiting) throw new Error("one request at a time");
        // Reconnecting is not timed: the figure starts when the request is written.
        if (socketGone || socket.destroyed) {
          socket = await connect();
          socketGone = false;
        }
        return new Promise<LeanResponse>((resolve, reject) => {
          waiting = { resolve, reject, started: performance.now() };
          socket.write(request);
        });
      };
    },
    close: () => {
      closed = true;
      socket.destroy();
    },
  };
}
