/**
 * A scale-up 3 -> 5 of a cluster whose database is large, so that each learner's catch-up (the
 * leader's snapshot, then the log) takes seconds, where the small clusters of `scale` measure
 * pod starts. The clock runs from the patch to convergence and to 5/5 pods Ready; the first
 * run's timeline (Events, pod status) shows each learner's add, start and promotion.
 */
import { fill } from './backup.js';
import type { BenchEnvironment } from './env.js';
import { etcdCluster } from './env.js';
import { deleteClusters, ensureNamespace, podMilestones, timeline, waitQuiet } from './kube.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'bench-scale-large';
const name = 'large';

export async function scalingLarge(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const totalMiB = options.quick ? 64 : 256;
  const section = `Scaling a ${totalMiB} MiB database: patch -> converged`;
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3, { storage: { retentionPolicy: 'Delete' } }));
  await env.waitConverged(ns, name, 3);
  results.details['scaleLarge.dbBytes'] = await fill(env, totalMiB, ns, name);
  for (let run = 0; run < options.runs; run++) {
    await waitQuiet(env, 1_000);
    const mark = env.audit.mark();
    const t0 = performance.now();
    const pods = podMilestones(env, ns, name, 5, t0, 600_000);
    pods.catch(() => undefined); // awaited below, after the status
    await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 5 } })]);
    await env.waitConverged(ns, name, 5, 600_000);
    results.add({ id: 'scale.large', section, label: '3 -> 5: status converged', unit: 'ms' }, performance.now() - t0);
    results.add({ id: 'scale.large.pods', section, label: '3 -> 5: 5/5 pods Ready', unit: 'ms' }, (await pods).allReadyMs);
    if (run === 0) results.details['timeline.scaleLarge'] = timeline(env.audit.since(mark), name).filter((line) => /events|pods\/status/.test(line));
    // Back to 3, the removed members' volumes deleted, so that each run's learners start empty.
    await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
    await env.waitConverged(ns, name, 3, 600_000);
    await env.kubectl(['delete', 'pvc', '-n', ns, '--wait=true', '--timeout=120s', '--ignore-not-found', `data-${name}-3`, `data-${name}-4`]);
    console.log(`[bench] scale-large run ${run + 1}/${options.runs} done`);
  }
  await deleteClusters(env, ns, [name]);
}
