// A minimal HTTP/1.1 client for the query benchmark: one keep-alive socket, one request at a time,
// the request bytes built once per query, the answer read by its Content-Length. Node's http
// module spends about 0.3–0.4 ms of JavaScript per request on this machine (ClientRequest, header
// handling, IncomingMessage), which would be charged to the server in an end-to-end figure; a
// dashboard's client (a browser, Grafana's Go client) has its own, not ours. The time measured is
// from writing the request to having the whole answer parsed as JSON.
import net from "node:net";

export interface LeanResponse {
  status: number;
  body: string;
  ms: number;
}

export interface LeanHttpClient {
  /** Prepares a POST of `payload` (JSON) to `path`; calling the result sends it. */
  prepare(path: string, payload: string): () => Promise<LeanResponse>;
  close(): void;
}

const HEADER_END = Buffer.from("\r\n\r\n");

export async function connectLeanHttp(host: string, port: number): Promise<LeanHttpClient> {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let waiting: { resolve: (r: LeanResponse) => void; reject: (e: Error) => void; started: number } | undefined;
  let buffered: Buffer = Buffer.alloc(0);

  const fail = (error: Error) => {
    const w = waiting;
    waiting = undefined;
    w?.reject(error);
  };
  socket.on("error", fail);
  socket.on("close", () => fail(new Error("the server closed the connection")));
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = buffered.subarray(0, end).toString("latin1");
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
    if (length === undefined) {
      fail(new Error(`an answer without Content-Length: ${head.split("\r\n")[0]}`));
      return;
    }
    const total = end + HEADER_END.length + Number(length);
    if (buffered.length < total) return;
    const body = buffered.subarray(end + HEADER_END.length, total).toString("utf8");
    buffered = buffered.subarray(total);
    const w = waiting;
    waiting = undefined;
    if (!w) return;
    const status = Number(head.slice(9, 12));
    JSON.parse(body); // the figure includes reading the answer, as any client would
    w.resolve({ status, body, ms: performance.now() - w.started });
  });

  return {
    prepare(path, payload) {
      const request = Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nAccept: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
      );
      return () =>
        new Promise<LeanResponse>((resolve, reject) => {
          if (waiting) {
            reject(new Error("one request at a time"));
            return;
          }
          waiting = { resolve, reject, started: performance.now() };
          socket.write(request);
        });
    },
    close: () => socket.destroy(),
  };
}
