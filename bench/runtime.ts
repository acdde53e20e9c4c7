// Event-to-reconcile latency of the runtime against a real API server, and the operator's
// resident memory when idle. Prints one JSON object. Run: npx tsx bench/runtime.ts
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import winston from 'winston';
import { InformerCache } from '../src/runtime/cache.js';
import { Controller } from '../src/runtime/controller.js';
import { splitKey } from '../src/runtime/kinds.js';
import { Manager } from '../src/runtime/manager.js';
import { repoRoot } from '../test/harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../test/harness/control-plane.js';
import { waitFor } from '../test/harness/wait.js';
import { startOperator } from '../test/harness/operator.js';

const events = Number(process.env.BENCH_EVENTS ?? 300);
const ns = 'bench';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function latency(cp: ControlPlane): Promise<{ samples: number; medianMs: number; p90Ms: number; p99Ms: number; maxMs: number }> {
  const log = winston.createLogger({ level: 'warn', transports: [new winston.transports.Console()] });
  const cache = new InformerCache({ kc: cp.kubeConfig(), namespaces: [], log });
  const seen = new Map<string, number>();
  const reconciler = {
    reconcile(key: string) {
      const { namespace, name } = splitKey(key);
      const mark = cache.get('EtcdCluster', namespace, name)?.metadata?.annotations?.['bench/seq'];
      if (mark && !seen.has(mark)) seen.set(mark, performance.now());
      return Promise.resolve({});
    },
  };
  const manager = new Manager({ cache, controller: new Controller({ name: 'bench', reconciler, workers: 2, log }), resyncPeriodMs: 600_000, shutdownTimeoutMs: 5000, log });
  void manager.run();
  await waitFor('cache sync', () => cache.hasSynced());
  const api = cp.kubeConfig().makeApiClient(CustomObjectsApi);
  const latencies: number[] = [];
  for (let i = 0; i < events; i++) {
    const sent = performance.now();
    // The clock starts before the write: the figure includes the API round trip and the watch.
    await api.patchNamespacedCustomObject({
      group: 'etcd.operator.dev', version: 'v1alpha1', plural: 'etcdclusters', namespace: ns, name: 'c1',
      body: [{ op: 'replace', path: '/metadata/annotations', value: { 'bench/seq': String(i) } }],
    });
    await waitFor(`pass for event ${i}`, () => seen.has(String(i)), { intervalMs: 1 });
    latencies.push(seen.get(String(i))! - sent);
  }
  await manager.shutdown();
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return { samples: latencies.length, medianMs: round(percentile(latencies, 50)), p90Ms: round(percentile(latencies, 90)), p99Ms: round(percentile(latencies, 99)), maxMs: round(latencies.at(-1)!) };
}

async function idleMemory(cp: ControlPlane): Promise<{ settleSeconds: number; rssMiB: number; heapUsedMiB: number }> {
  const op = await startOperator('bench-operator', cp.dir, cp.kubeconfigPath, ['--leader-election-namespace=default']);
  await waitFor('operator ready', async () => (await fetch(`${op.healthUrl}/readyz`)).status === 200, { timeoutMs: 60_000 });
  const settleSeconds = 20;
  await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
  const status = readFileSync(`/proc/${op.process.pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  const heapUsed = await op.metric('nodejs_heap_size_used_bytes');
  await op.process.stop();
  const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
  return { settleSeconds, rssMiB: mib(rssKiB * 1024), heapUsedMiB: mib(heapUsed) };
}

const cp = await startControlPlane('bench-runtime');
try {
  await cp.kubectl(['apply', '-f', join(repoRoot, 'crds')]);
  await cp.waitForCrd('etcdclusters.etcd.operator.dev');
  await cp.kubectl(['create', 'namespace', ns]);
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'c1', namespace: ns }, spec: { replicas: 3 } }) });
  const eventToReconcile = await latency(cp);
  const idle = await idleMemory(cp);
  console.log(JSON.stringify({ eventToReconcile, idleOperator: { ...idle, runtime: `node ${process.version} --import tsx (one EtcdCluster, 7 informers, leader)` } }, null, 2));
} finally {
  await cp.stop();
}
