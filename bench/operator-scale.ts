// Scale of the operator: its memory and CPU idle and with 1, 10 and 50 clusters managed, and the
// time for a batch of clusters applied at once to become Available. A fresh control plane and
// operator process, so the memory figures start from a clean heap.
import { freemem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EtcdCluster } from '../src/api/types.generated.js';
import { waitFor } from '../test/harness/wait.js';
import { writeVerbs } from '../test/harness/audit.js';
import { type BenchEnvironment, etcdCluster, group, isConverged, operatorUser, startBenchEnvironment } from './env.js';
import { deleteClusters, ensureNamespace } from './kube.js';
import { cpuPercent, rssMiB } from './proc.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'fleet';
const section = 'Scale of the operator';
/** What one small member takes, with margin (etcd 3.6 idles at about 40 MiB). */
const memberMiB = 80;

async function allAvailable(env: BenchEnvironment, count: number): Promise<boolean> {
  const [clusters, sets] = await Promise.all([env.custom.listNamespacedCustomObject({ ...group, namespace: ns }) as Promise<{ items: EtcdCluster[] }>, env.apps.listNamespacedStatefulSet({ namespace: ns })]);
  const replicas = new Map(sets.items.map((s) => [s.metadata!.name!, s.spec?.replicas]));
  return clusters.items.length === count && clusters.items.every((c) => isConverged(c, replicas.get(c.metadata.name!), 1));
}

/** RSS and CPU of the operator, and the RSS of every etcd member the agent runs. */
async function sample(env: BenchEnvironment, results: Results, label: string, id: string, cpuWindowMs: number): Promise<void> {
  const pid = env.operator().process.pid;
  const mark = env.audit.mark();
  const passes = await env.operator().metric('controller_runtime_reconcile_total');
  const cpu = await cpuPercent(pid, cpuWindowMs);
  const requests = env.audit.since(mark).filter((e) => e.user.username === operatorUser);
  results.details[`operator.window.${id}`] = { passes: (await env.operator().metric('controller_runtime_reconcile_total')) - passes, apiRequests: requests.length, apiWrites: requests.filter((e) => writeVerbs.has(e.verb)).length };
  results.add({ id: `operator.rss.${id}`, section, label: `operator RSS, ${label}`, unit: 'MiB' }, rssMiB(pid));
  results.add({ id: `operator.cpu.${id}`, section, label: `operator CPU over ${cpuWindowMs / 1000} s, ${label}`, unit: '% of a core' }, cpu);
  const heap = await env.operator().metric('nodejs_heap_size_used_bytes');
  results.details[`operator.heapUsedMiB.${id}`] = Math.round(heap / 1024 / 1024);
}

async function fleet(env: BenchEnvironment, results: Results, count: number, cpuWindowMs: number): Promise<void> {
  const names = Array.from({ length: count }, (_, i) => `f${count}-${i}`);
  const items = names.map((n) => JSON.parse(etcdCluster(ns, n, 1, { storage: { type: 'EmptyDir', size: '64Mi' } })) as object);
  const t0 = performance.now();
  await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await waitFor(`${count} clusters Available`, () => allAvailable(env, count), { timeoutMs: 900_000, intervalMs: 250 });
  results.add({ id: `operator.ready.${count}`, section, label: `${count} one-member cluster${count > 1 ? 's' : ''} applied at once -> all Available`, unit: 'ms', ...(count === 1 ? { floor: 'floor.start1' } : {}) }, performance.now() - t0);
  await sleep(5_000);
  await sample(env, results, `${count} cluster${count > 1 ? 's' : ''} managed`, String(count), cpuWindowMs);
  results.details[`operator.etcdMembers.${count}`] = env.agent.addresses().length;
  await deleteClusters(env, ns, names);
}

export async function operatorScale(results: Results, options: RunOptions): Promise<void> {
  const env = await startBenchEnvironment('bench-fleet');
  try {
    await env.startOperator();
    await ensureNamespace(env, ns);
    await sleep(10_000);
    // Full runs hold one 30 s requeue pass of every cluster in the window; quick runs are shorter.
    const cpuWindowMs = options.quick ? 10_000 : 32_000;
    await sample(env, results, 'idle (no cluster)', 'idle', cpuWindowMs);
    for (const count of options.clusterCounts) {
      const needMiB = count * memberMiB;
      const freeMiB = freemem() / 1024 / 1024;
      if (needMiB > freeMiB) {
        results.failed(`operator ${count} clusters`, new Error(`skipped: ${count} members need about ${needMiB} MiB, ${Math.round(freeMiB)} MiB free`));
        continue;
      }
      await fleet(env, results, count, cpuWindowMs);
      console.log(`[bench] operator scale: ${count} clusters done`);
    }
  } finally {
    await env.stop();
  }
}
