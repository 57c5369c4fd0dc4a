// graphql-ws on the same HTTP server and path, through Yoga's envelop (yoga.getEnveloped), so
// subscriptions get the same context, authentication, error masking and limits as HTTP
// (the model: graphql-yoga's examples/graphql-ws).
import type { Server } from "node:http";
import type { ExecutionArgs } from "graphql";
import type { OperationResult } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";

// biome-ignore lint/suspicious/noExplicitAny: Yoga's generic context types are not needed here
type AnyYoga = YogaServerInstance<any, any>;

export interface WsServerOptions {
  server: Server;
  yoga: AnyYoga;
  path?: string;
  /** Checks connection params at connect time; throw to refuse (closed with 4403). */
  authenticate: (connectionParams: Readonly<Record<string, unknown>> | undefined) => void;
  /** Bytes buffered for one socket beyond which messages are not sent and the socket is closed. */
  maxBufferedBytes?: number;
}

interface Enveloped {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

export function createWsServer(options: WsServerOptions) {
  const { server, yoga, path = "/graphql", authenticate, maxBufferedBytes = 8 * 1024 * 1024 } = options;
  const wss = new WebSocketServer({ server, path });
  const disposable = useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onConnect: (ctx) => {
        try {
          authenticate(ctx.connectionParams);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, _id, params) => {
        const socket = ctx.extra.socket;
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket,
          params,
          connectionParams: ctx.connectionParams,
          closeConnection: (code: number, reason: string) => socket.close(code, reason),
        });
        const document = parse(params.query);
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        return {
          schema,
          operationName: params.operationName ?? null,
          document,
          variableValues: params.variables ?? null,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
      },
    },
    wss,
  );
  // The socket's own outgoing buffer is bounded too: a peer that stops reading is dropped.
  const guard = setInterval(() => {
    for (const client of wss.clients) {
      if (client.bufferedAmount > maxBufferedBytes) client.close(4429, "Slow consumer: outgoing buffer full");
    }
  }, 500);
  guard.unref();
  return {
    wss,
    async close() {
      clearInterval(guard);
      await disposable.dispose();
      await new Promise<void>((done) => wss.close(() => done()));
    },
  };
}
