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

export async function scalingLarge(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const totalMiB = options.quick ? 64 : 256;
  const section = `Scaling a ${totalMiB} MiB database: patch -> converged`;
  for (const [name, label, spec] of [['large', 'one learner at a time', {}]] as const) {
    await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3, { storage: { retentionPolicy: 'Delete' }, ...spec }));
    await env.waitConverged(ns, name, 3);
    const dbBytes = await fill(env, totalMiB, ns, name);
    results.details[`scaleLarge.${name}.dbBytes`] = dbBytes;
    for (let run = 0; run < options.runs; run++) {
      await waitQuiet(env, 1_000);
      const mark = env.audit.mark();
      const t0 = performance.now();
      const pods = podMilestones(env, ns, name, 5, t0, 600_000);
      pods.catch(() => undefined);
      await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 5 } })]);
      await env.waitConverged(ns, name, 5, 600_000);
      results.add({ id: `scale.large.${name}`, section, label: `3 -> 5, ${label}: status converged`, unit: 'ms' }, performance.now() - t0);
      results.add({ id: `scale.large.${name}.pods`, section, label: `3 -> 5, ${label}: 5/5 pods Ready`, unit: 'ms' }, (await pods).allReadyMs);
      if (run === 0) results.details[`timeline.scaleLarge.${name}`] = timeline(env.audit.since(mark), name).filter((line) => /events|pods\/status/.test(line));
      await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas: 3 } })]);
      await env.waitConverged(ns, name, 3, 600_000);
      const claims = [3, 4].map((o) => `data-${name}-${o}`);
      await env.kubectl(['delete', 'pvc', '-n', ns, '--wait=true', '--timeout=120s', '--ignore-not-found', ...claims]);
      console.log(`[bench] scale-large ${name} run ${run + 1}/${options.runs} done`);
    }
    await deleteClusters(env, ns, [name]);
  }
}
