// Time to ready, scaling and event-to-action through the whole product: kubectl, the API server,
// the operator as a process, and the agent running members as real etcd processes.
import type { BenchEnvironment } from './env.js';
import { etcdCluster } from './env.js';
import { deleteClusters, ensureNamespace, firstMemberChangeAt, firstWriteAfterChange, podMilestones, timeline, waitQuiet } from './kube.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'bench';

export async function timeToReady(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const section = 'Time to ready: kubectl apply -> Available, N/N Ready';
  for (let run = 0; run < options.runs; run++) {
    for (const size of [1, 3, 5]) {
      const name = `ready${size}-${run}`;
      const mark = env.audit.mark();
      const t0 = performance.now();
      const pods = podMilestones(env, ns, name, size, t0);
      pods.catch(() => undefined); // awaited below, after the status
      await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, size));
      await env.waitConverged(ns, name, size);
      const ms = performance.now() - t0;
      const { firstPodMs, allReadyMs } = await pods;
      const members = `${size} member${size > 1 ? 's' : ''}`;
      results.add({ id: `ready.${size}`, section, label: `${members}: status converged`, unit: 'ms', floor: `floor.start${size}` }, ms);
      results.add({ id: `ready.${size}.pods`, section, label: `${members}: ${size}/${size} pods Ready`, unit: 'ms', floor: `floor.start${size}` }, allReadyMs);
      results.add({ id: `ready.${size}.firstPod`, section, label: `${members}: first member pod created`, unit: 'ms' }, firstPodMs);
      if (run === 0 && size === 3) results.details['timeline.ready3'] = timeline(env.audit.since(mark), name);
      await deleteClusters(env, ns, [name]);
    }
    console.log(`[bench] ready run ${run + 1}/${options.runs} done`);
  }
}

/** Changes replicas with a merge patch, as `kubectl scale` would, and returns when it was sent. */
async function setReplicas(env: BenchEnvironment, name: string, replicas: number): Promise<number> {
  const t0 = performance.now();
  await env.kubectl(['patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { replicas } })]);
  return t0;
}

/** Volumes of members removed on scale-down go (retentionPolicy Delete) before the next run. */
async function waitVolumesGone(env: BenchEnvironment, name: string, ordinals: number[]): Promise<void> {
  const left = async () => (await env.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map((p) => p.metadata!.name!).filter((n) => ordinals.some((o) => n === `data-${name}-${o}`));
  const remaining = await left();
  if (remaining.length > 0) await env.kubectl(['delete', 'pvc', '-n', ns, '--wait=true', '--timeout=120s', '--ignore-not-found', ...remaining]);
}

/**
 * 3 -> 5 -> 3 on one cluster, `runs` times. The clock runs from the patch to convergence (etcd
 * and status agree on N healthy voters). The same patches give event-to-action: the operator's
 * first write after the change, from the audit log.
 */
export async function scaling(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  const name = 'scale';
  const section = 'Scaling: patch -> converged';
  const e2a = 'Event to action: change committed -> operator\'s first API write';
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3, { storage: { retentionPolicy: 'Delete' } }));
  await env.waitConverged(ns, name, 3);
  const firstWrites: string[] = [];
  for (let run = 0; run < options.runs; run++) {
    await waitQuiet(env, 1_000);
    for (const [from, to] of [[3, 5], [5, 3]] as const) {
      const mark = env.audit.mark();
      const up = to > from;
      const t0 = performance.now();
      const wall0 = Date.now();
      const pods = up ? podMilestones(env, ns, name, to, t0) : undefined;
      pods?.catch(() => undefined); // awaited below, after the status
      await setReplicas(env, name, to);
      await env.waitConverged(ns, name, to);
      const ms = performance.now() - t0;
      results.add({ id: up ? 'scale.up' : 'scale.down', section, label: `${from} -> ${to}: status converged`, unit: 'ms', floor: up ? 'floor.scaleUp' : 'floor.scaleDown' }, ms);
      if (pods) results.add({ id: 'scale.up.pods', section, label: `${from} -> ${to}: ${to}/${to} pods Ready`, unit: 'ms', floor: 'floor.scaleUp' }, (await pods).allReadyMs);
      const events = env.audit.since(mark);
      // Beside the bare floor, which is also timed from the accepted add: etcd's own refusal window
      // (5 s after the last membership change) is left out of both.
      const accepted = pods ? firstMemberChangeAt(events, name) : undefined;
      if (pods && accepted !== undefined) {
        results.add({ id: 'scale.up.pods.afterAdd', section, label: `${from} -> ${to}: ${to}/${to} pods Ready, from etcd accepting the first learner`, unit: 'ms', floor: 'floor.scaleUp' }, wall0 + (await pods).allReadyMs - accepted);
      }
      if (run === 0) results.details[`timeline.scale${from}to${to}`] = timeline(events, name);
      const first = firstWriteAfterChange(events, name);
      if (first) {
        results.add({ id: up ? 'e2a.up' : 'e2a.down', section: e2a, label: `replicas ${from} -> ${to}`, unit: 'ms' }, first.ms);
        firstWrites.push(`${from}->${to}: ${first.what}`);
      }
      if (!up) await waitVolumesGone(env, name, [3, 4]);
      await waitQuiet(env, 1_000);
    }
    console.log(`[bench] scale run ${run + 1}/${options.runs} done`);
  }
  results.details['e2a.firstWrites'] = [...new Set(firstWrites)];
  await deleteClusters(env, ns, [name]);
}
