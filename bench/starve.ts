// One slow cluster never starves the others: a cluster with one member whose etcd is SIGSTOPped
// (it accepts connections and answers nothing, so every call to it runs out its deadline) beside
// clusters that scale, under the operator's default 2 workers. Rounds alternate: the same scale
// with the stopped member continued (alone) and stopped (beside), so load drift hits both alike.
// In the beside rounds the broken cluster is also asked to grow to 5, as a user replacing the dead
// member would: it waits (no scale-up while a member is unhealthy) and looks again every 2 s, so
// every one of its passes meets the hung member. Left idle, it would pass once per 30 s only.
import type { EtcdCluster } from '../src/api/types.generated.js';
import { waitFor } from '../test/harness/wait.js';
import { type BenchEnvironment, etcdCluster, group, isConverged, startBenchEnvironment } from './env.js';
import { deleteClusters, ensureNamespace, memberPods } from './kube.js';
import { etcdPid } from './recovery.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'starve';
const section = 'Starvation: clusters scaling beside a cluster with a hung member (2 workers)';
/** 10 clusters of 3 -> 5 (53 etcd processes) do not fit this 2-core machine beside the others' work. */
const count = Number(process.env.BENCH_STARVE_CLUSTERS ?? 6);
const from = Number(process.env.BENCH_STARVE_FROM ?? 1);
const to = Number(process.env.BENCH_STARVE_TO ?? 3);
const broken = 'broken';
const spec = { storage: { type: 'EmptyDir', size: '64Mi' } };

async function clusters(env: BenchEnvironment): Promise<{ items: EtcdCluster[]; replicas: Map<string, number | undefined> }> {
  const [list, sets] = await Promise.all([env.custom.listNamespacedCustomObject({ ...group, namespace: ns }) as Promise<{ items: EtcdCluster[] }>, env.apps.listNamespacedStatefulSet({ namespace: ns })]);
  return { items: list.items, replicas: new Map(sets.items.map((s) => [s.metadata!.name!, s.spec?.replicas])) };
}

/** Patches every cluster to `replicas` at once; per cluster, the time from its patch to converged. */
async function scaleAll(env: BenchEnvironment, names: string[], replicas: number): Promise<number[]> {
  const sent = new Map<string, number>();
  await Promise.all(names.map(async (n) => {
    sent.set(n, performance.now());
    await env.kubectl(['patch', 'etcdcluster', n, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas } })]);
  }));
  const done = new Map<string, number>();
  await waitFor(`${names.length} clusters at ${replicas}`, async () => {
    const { items, replicas: sts } = await clusters(env);
    const now = performance.now();
    for (const c of items) if (names.includes(c.metadata.name!) && !done.has(c.metadata.name!) && isConverged(c, sts.get(c.metadata.name!), replicas)) done.set(c.metadata.name!, now);
    return done.size === names.length;
  }, { timeoutMs: 600_000, intervalMs: 250 });
  return names.map((n) => done.get(n)! - sent.get(n)!);
}

/** The etcd of the broken cluster's last member, stopped or continued. */
async function signalMember(env: BenchEnvironment, sig: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  const pod = (await memberPods(env, ns, broken)).find((p) => p.metadata?.name === `${broken}-2`);
  if (!pod) throw new Error(`no pod ${broken}-2`);
  process.kill(etcdPid(pod), sig);
}

/** Waits until the operator's status of the broken cluster says what the member's state is. */
async function waitBrokenSeen(env: BenchEnvironment, hung: boolean): Promise<string> {
  let message = '';
  await waitFor(`${broken}-2 seen ${hung ? 'unhealthy' : 'healthy'}`, async () => {
    const c = await env.cluster(ns, broken);
    const m = c.status?.members?.find((x) => x.name === `${broken}-2`);
    message = c.status?.conditions?.find((x) => x.type === 'Degraded')?.message ?? '';
    return hung ? m?.healthy === false : isConverged(c, 3, 3);
  }, { timeoutMs: 120_000, intervalMs: 250 });
  return message;
}

async function passSeconds(env: BenchEnvironment): Promise<{ sum: number; count: number }> {
  const labels = { controller: 'etcdcluster' };
  return { sum: await env.operator().metric('controller_runtime_reconcile_time_seconds_sum', labels), count: await env.operator().metric('controller_runtime_reconcile_time_seconds_count', labels) };
}

const patchBroken = (env: BenchEnvironment, replicas: number) => env.kubectl(['patch', 'etcdcluster', broken, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas } })]);

async function round(env: BenchEnvironment, results: Results, names: string[], hung: boolean, run: number): Promise<void> {
  if (hung) {
    await signalMember(env, 'SIGSTOP');
    results.details[`starve.degraded.${run}`] = await waitBrokenSeen(env, true);
    await patchBroken(env, 5);
  }
  const before = await passSeconds(env);
  const t0 = performance.now();
  const times = await scaleAll(env, names, to);
  const all = performance.now() - t0;
  const after = await passSeconds(env);
  const id = hung ? 'starve.beside' : 'starve.alone';
  const label = `${count} clusters ${from} -> ${to} at once, ${hung ? 'beside' : 'without'} a hung member`;
  for (const ms of times) results.add({ id, section, label: `${label}: each, patch -> converged`, unit: 'ms', ...(hung ? { floor: 'starve.alone' } : {}) }, ms);
  results.add({ id: `${id}.all`, section, label: `${label}: all converged`, unit: 'ms', ...(hung ? { floor: 'starve.alone.all' } : {}) }, all);
  results.details[`${id}.passes.${run}`] = { passes: after.count - before.count, meanPassMs: Math.round(((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000) };
  if (hung) {
    await patchBroken(env, 3);
    await signalMember(env, 'SIGCONT');
    await waitBrokenSeen(env, false);
  }
  await scaleAll(env, names, from);
  console.log(`[bench] starve ${hung ? 'beside' : 'alone'} run ${run}: each ${times.map((t) => Math.round(t)).join(', ')} ms; all ${Math.round(all)} ms`);
}

export async function starvation(results: Results, options: RunOptions): Promise<void> {
  const env = await startBenchEnvironment('bench-starve');
  const names = Array.from({ length: count }, (_, i) => `s${i}`);
  try {
    await env.startOperator();
    await ensureNamespace(env, ns);
    results.details['starve.shape'] = { clusters: count, from, to, broken: '3 members, the last SIGSTOPped in the "beside" rounds', workers: 2 };
    await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, broken, 3, spec));
    await env.waitConverged(ns, broken, 3);
    const items = names.map((n) => JSON.parse(etcdCluster(ns, n, from, spec)) as object);
    await env.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    for (const n of names) await env.waitConverged(ns, n, from);
    for (let run = 0; run < options.runs; run++) {
      await round(env, results, names, false, run);
      await round(env, results, names, true, run);
    }
    await deleteClusters(env, ns, [...names, broken]);
  } finally {
    await env.stop();
  }
}
