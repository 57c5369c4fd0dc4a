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
  /** What has arrived of the answer being read: its chunks (joined once, when it is whole). */
  let chunks: Buffer[] = [];
  let received = 0;
  /** The answer's head once read: where its body starts and how long the whole answer is. */
  let head: { status: number; bodyStart: number; total: number } | undefined;
  let closed = false;

  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    if (!head) {
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
      head = { status: Number(text.slice(9, 12)), bodyStart, total: bodyStart + Number(length) };
    }
    if (received < head.total) return;
    const whole = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
    const body = whole.subarray(head.bodyStart, head.total).toString("utf8");
    const rest = whole.subarray(head.total);
    const { status } = head;
    chunks = rest.length > 0 ? [rest] : [];
    received = rest.length;
    head = undefined;
    const w = waiting;
    waiting = undefined;
    if (!w) return;
    const json: unknown = JSON.parse(body);
    w.resolve({ status, json, ms: performance.now() - w.started });
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
    received = 0;
    head = undefined;
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
