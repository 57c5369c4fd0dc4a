// Samples the server's own health (ingest queue, flushes, event-loop lag, RSS, CPU) and writes
// it through the batch writer into system_metrics, like any other row.
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { Logger } from "pino";
import type { IlpBuffer } from "../questdb/ilp-buffer.ts";
import { SYSTEM_METRICS } from "../questdb/service-tables.ts";
import { nowMicros } from "../time.ts";
import type { BatchWriter, WriterStats } from "./batch-writer.ts";

export interface SystemSample extends WriterStats {
  eventLoopLagMs: number;
  rssBytes: number;
  cpuPercent: number;
}

export interface SystemSamplerOptions {
  writer: BatchWriter;
  /** Physical system_metrics table. */
  table: string;
  instance: string;
  /** 0: sample on demand only (snapshot()), write nothing. */
  intervalMs: number;
  log: Logger;
}

export interface SystemSampler {
  /** Takes a sample: event-loop lag and CPU since the previous sample. */
  snapshot(): SystemSample;
  stop(): void;
}

export function createSystemSampler(options: SystemSamplerOptions): SystemSampler {
  const { writer, table, instance, intervalMs, log } = options;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();

  const snapshot = (): SystemSample => {
    const cpu = process.cpuUsage(lastCpu);
    const now = performance.now();
    const wallMs = Math.max(now - lastAt, 1);
    lastCpu = process.cpuUsage();
    lastAt = now;
    // p99 of the delay histogram, minus the sampling resolution: how late timers ran.
    const lagMs = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e6 - 10) : 0;
    delay.reset();
    return {
      ...writer.stats(),
      eventLoopLagMs: lagMs,
      rssBytes: process.memoryUsage.rss(),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    };
  };

  const write = () => {
    const s = snapshot();
    const encode = (buffer: IlpBuffer) =>
      SYSTEM_METRICS.encode(buffer, table, {
        timestamp: nowMicros(),
        instance,
        queueDepth: BigInt(s.queuedRows + s.inFlightRows),
        oldestQueuedMs: s.oldestQueuedMs,
        flushMs: s.lastFlushMs,
        rowsWritten: BigInt(s.rowsWritten),
        retries: BigInt(s.retries),
        rejectedRows: BigInt(s.rejectedRows),
        eventLoopLagMs: s.eventLoopLagMs,
        rssBytes: BigInt(s.rssBytes),
        cpuPercent: s.cpuPercent,
      });
    try {
      writer.enqueue([{ table, encode }]);
    } catch (error) {
      // A full queue or shutdown: skip this sample rather than add to the pressure.
      log.debug({ err: error instanceof Error ? error.message : String(error) }, "system sample skipped");
    }
  };

  const timer = intervalMs > 0 ? setInterval(write, intervalMs) : undefined;
  timer?.unref();
  return {
    snapshot,
    stop: () => {
      if (timer) clearInterval(timer);
      delay.disable();
    },
  };
}
