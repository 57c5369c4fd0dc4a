// An example live monitor: subscribes over WebSockets (graphql-ws) to `liveMetrics` and `alerts`
// with typed documents, and prints one JSON line per message on stdout:
//   {"liveMetrics":{...}}   rolling figures over the last minute, when they change
//   {"alert":{...}}         FIRING and RESOLVED events of the alert rules
// It reconnects when the connection drops, and stops on SIGINT/SIGTERM.
//
//   API_URL=http://127.0.0.1:4000 API_KEY=<reader key> node --import tsx examples/monitor.ts
import { print } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import {
  MonitorAlertsDocument,
  type MonitorAlertsSubscription,
  MonitorLiveMetricsDocument,
  type MonitorLiveMetricsSubscription,
} from "./generated/graphql.ts";

export interface MonitorOptions {
  url: string;
  apiKey?: string | undefined;
  strategy?: string | undefined;
  onLiveMetrics: (metrics: MonitorLiveMetricsSubscription["liveMetrics"]) => void;
  onAlert: (alert: MonitorAlertsSubscription["alerts"]) => void;
  onError?: (error: unknown) => void;
}

/** Starts both subscriptions; returns the function that stops them and closes the socket. */
export function runMonitor(options: MonitorOptions): () => Promise<void> {
  const { onLiveMetrics, onAlert, onError = (error) => console.error(error) } = options;
  const client = createClient({
    url: `${options.url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    retryAttempts: Number.POSITIVE_INFINITY,
    // A refused key (4401, 4403) will not get better by retrying.
    shouldRetry: (event) =>
      !(event instanceof Object && "code" in event && [4401, 4403].includes(event.code as number)),
  });
  const stopLive = client.subscribe<MonitorLiveMetricsSubscription>(
    {
      query: print(MonitorLiveMetricsDocument),
      variables: { windowSeconds: 60, ...(options.strategy ? { strategy: options.strategy } : {}) },
    },
    { next: (message) => message.data && onLiveMetrics(message.data.liveMetrics), error: onError, complete: () => {} },
  );
  const stopAlerts = client.subscribe<MonitorAlertsSubscription>(
    { query: print(MonitorAlertsDocument) },
    { next: (message) => message.data && onAlert(message.data.alerts), error: onError, complete: () => {} },
  );
  return async () => {
    stopLive();
    stopAlerts();
    await client.dispose();
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const stop = runMonitor({
    url: process.env.API_URL ?? "http://127.0.0.1:4000",
    apiKey: process.env.API_KEY,
    strategy: process.env.MONITOR_STRATEGY,
    onLiveMetrics: (liveMetrics) => console.log(JSON.stringify({ liveMetrics })),
    onAlert: (alert) => console.log(JSON.stringify({ alert })),
    onError: (error) => {
      console.error(error instanceof Error ? error.message : JSON.stringify(error));
      process.exitCode = 1;
    },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stop());
}
