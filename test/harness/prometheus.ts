/**
 * A real Prometheus server (Debian's package, installed by hack/install-prometheus.sh) for tests:
 * loopback only, a temporary TSDB, static scrape targets and short intervals. Also promtool, run
 * as a command.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';
import { waitFor } from './wait.js';

export interface ScrapeJob {
  job: string;
  /** `host:port` of each target; loopback addresses only. */
  targets: string[];
  /** Extra labels per target, e.g. `{ member: 'x-1' }`, by target. */
  labels?: Record<string, Record<string, string>>;
  /** Keep the target's own `namespace` label (the operator's per-cluster series carry one). */
  honorLabels?: boolean;
}

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

export interface PrometheusServer {
  process: ManagedProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  query(expr: string): Promise<Sample[]>;
  alerts(): Promise<ActiveAlert[]>;
  /** Status of the query API for `expr` (for checking that an expression parses). */
  check(expr: string): Promise<{ status: string; error?: string }>;
}

interface ApiResponse<T> {
  status: string;
  data: T;
  error?: string;
}

async function api<T>(url: string): Promise<ApiResponse<T>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return (await res.json()) as ApiResponse<T>;
}

export async function startPrometheus(dir: string, options: { jobs: ScrapeJob[]; ruleFiles?: string[]; intervalSeconds?: number }): Promise<PrometheusServer> {
  mkdirSync(join(dir, 'tsdb'), { recursive: true });
  const interval = `${options.intervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.jobs.map((j) => ({
      job_name: j.job,
      honor_labels: j.honorLabels ?? false,
      static_configs: j.targets.map((t) => ({ targets: [t], labels: j.labels?.[t] ?? {} })),
    })),
  };
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(configPath, stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const process = startProcess('prometheus', 'prometheus', [
    `--config.file=${configPath}`,
    `--storage.tsdb.path=${join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ], { logDir: dir });
  await waitFor('prometheus ready', async () => (await fetch(`${url}/-/ready`)).ok, { process, timeoutMs: 60_000, intervalMs: 200 });
  return {
    process,
    url,
    async query(expr) {
      const res = await api<{ result: Sample[] }>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (res.status !== 'success') throw new Error(`query ${expr}: ${res.error ?? res.status}`);
      return res.data.result;
    },
    async alerts() {
      return (await api<{ alerts: ActiveAlert[] }>(`${url}/api/v1/alerts`)).data.alerts;
    },
    async check(expr) {
      const res = await api<unknown>(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return { status: res.status, error: res.error };
    },
  };
}

/** Runs promtool; resolves with its exit code and output, `input` on stdin. */
export function promtool(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
