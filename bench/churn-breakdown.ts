// Where the time from a change to the operator's first write goes, from the operator's debug log
// (`--log-level=debug`): the watch event's arrival ('event'), then the pass that followed it
// ('pass finished': how long the key waited for a worker, and the pass's own length).
import { readFileSync } from 'node:fs';
import { percentile } from './stats.js';

interface LogLine {
  message?: string;
  timestamp?: string;
  kind?: string;
  cluster?: string;
  key?: string;
  controller?: string;
  waitedMs?: number;
  passMs?: number;
}

export interface ChangeTiming {
  name: string;
  /** Change committed -> first write, from the audit log. */
  latencyMs: number;
  /** Change committed -> the bench's own watch of the EtcdClusters saw it (the API server's part). */
  benchDeliveryMs?: number;
  /** Change committed -> the operator logged the watch event (the API server's part and the operator's event loop). */
  deliveryMs?: number;
  /** The key's wait for a worker, in the pass that followed the event. */
  waitedMs?: number;
  /** That pass's length (the first write is one of its requests). */
  passMs?: number;
}

export interface ChurnBreakdown {
  benchDelivery: Record<string, number | undefined>;
  delivery: Record<string, number | undefined>;
  waited: Record<string, number | undefined>;
  pass: Record<string, number | undefined>;
  /** The five slowest changes, each broken down. */
  slowest: ChangeTiming[];
}

function readLog(path: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the log's rotation or a crash: skip
    }
  }
  return lines;
}

const stats = (xs: number[]) => {
  if (xs.length === 0) return { n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.at(-1) };
};

/** `changes`: cluster key, commit time (ms since the epoch) and measured latency of each change. */
export function churnBreakdown(logPath: string, changes: { key: string; committedMs: number; latencyMs: number; benchSawMs?: number }[]): ChurnBreakdown {
  const log = readLog(logPath);
  const at = (l: LogLine) => Date.parse(l.timestamp ?? '');
  const timings: ChangeTiming[] = changes.map((c) => {
    // The log's clock has millisecond steps; a line stamped in the same millisecond counts.
    const event = log.find((l) => l.message === 'event' && l.kind === 'EtcdCluster' && l.cluster === c.key && at(l) >= Math.floor(c.committedMs));
    // The backup schedules' controller queues cluster keys too: only the EtcdCluster passes count.
    const pass = event && log.find((l) => l.message === 'pass finished' && l.controller === 'etcdcluster' && l.key === c.key && at(l) >= at(event));
    const seen = c.benchSawMs !== undefined ? { benchDeliveryMs: Math.round(c.benchSawMs - c.committedMs) } : {};
    return {
      name: c.key,
      latencyMs: Math.round(c.latencyMs),
      ...seen,
      ...(event ? { deliveryMs: at(event) - Math.floor(c.committedMs) } : {}),
      ...(pass?.waitedMs !== undefined ? { waitedMs: pass.waitedMs } : {}),
      ...(pass?.passMs !== undefined ? { passMs: pass.passMs } : {}),
    };
  });
  const defined = (f: (t: ChangeTiming) => number | undefined) => timings.map(f).filter((x): x is number => x !== undefined);
  return {
    benchDelivery: stats(defined((t) => t.benchDeliveryMs)),
    delivery: stats(defined((t) => t.deliveryMs)),
    waited: stats(defined((t) => t.waitedMs)),
    pass: stats(defined((t) => t.passMs)),
    slowest: [...timings].sort((a, b) => b.latencyMs - a.latencyMs).slice(0, 5),
  };
}
