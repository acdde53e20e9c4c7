// Recovery: a member's etcd process killed outright, and a member's pod deleted with its volume.
import { readFileSync } from 'node:fs';
import type { V1Pod } from '@kubernetes/client-node';
import { ports } from '../src/resources/names.js';
import { httpGet } from '../test/harness/http.js';
import { waitFor } from '../test/harness/wait.js';
import { type BenchEnvironment, etcdCluster, operatorUser } from './env.js';
import { deleteClusters, ensureNamespace, memberPods, podReady, waitQuiet } from './kube.js';
import type { Results } from './results.js';
import type { RunOptions } from './run.js';

const ns = 'bench';
const name = 'recover';
const section = 'Recovery: fault -> all members healthy again';

/** The container's PID as the agent reports it (`local-agent://<pid>`): unshare execs down to etcd. */
export function etcdPid(pod: V1Pod): number {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const pid = Number(/^local-agent:\/\/(\d+)$/.exec(id)?.[1]);
  if (!Number.isInteger(pid)) throw new Error(`${pod.metadata?.name} has no running container (${id})`);
  // Guard against a PID reused by something else since the status was written.
  if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('etcd')) throw new Error(`PID ${pid} is not etcd`);
  return pid;
}


/** Every member answers /readyz on its metrics port (serves linearizable reads), as the probe asks. */
async function etcdReady(pods: V1Pod[]): Promise<boolean> {
  const answers = await Promise.all(pods.map((p) => httpGet(`http://${p.status?.podIP}:${ports.metrics}/readyz`, {}, 1_000).catch(() => ({ status: 0 }))));
  return pods.length === 3 && answers.every((a) => a.status === 200);
}

/** SIGKILL to one member's etcd; the agent restarts the container (first restart immediately). */
async function killMember(env: BenchEnvironment, results: Results, ordinal: number): Promise<void> {
  const podName = `${name}-${ordinal}`;
  const before = (await memberPods(env, ns, name)).find((p) => p.metadata?.name === podName)!;
  const restarts = before.status?.containerStatuses?.[0]?.restartCount ?? 0;
  const pid = etcdPid(before);
  const t0 = performance.now();
  process.kill(pid, 'SIGKILL');
  const restarted = (p: V1Pod | undefined) => (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) > restarts;
  let etcdMs: number | undefined;
  let podsMs: number | undefined;
  await waitFor(`${podName} back after SIGKILL`, async () => {
    const pods = await memberPods(env, ns, name);
    const pod = pods.find((p) => p.metadata?.name === podName);
    if (!restarted(pod)) return false;
    etcdMs ??= (await etcdReady(pods)) ? performance.now() - t0 : undefined;
    podsMs ??= pods.length === 3 && pods.every(podReady) ? performance.now() - t0 : undefined;
    return etcdMs !== undefined && podsMs !== undefined && (await env.converged(ns, name, 3));
  }, { timeoutMs: 180_000, intervalMs: 50 });
  const totalMs = performance.now() - t0;
  results.add({ id: 'recovery.kill.etcd', section, label: 'etcd SIGKILLed -> all 3 answer /readyz', unit: 'ms', floor: 'floor.restart' }, etcdMs!);
  results.add({ id: 'recovery.kill.pods', section, label: 'etcd SIGKILLed -> 3/3 pods Ready', unit: 'ms', floor: 'floor.restart' }, podsMs!);
  results.add({ id: 'recovery.kill', section, label: 'etcd SIGKILLed -> pods Ready, status converged', unit: 'ms', floor: 'floor.restart' }, totalMs);
}

/** Pod and volume deleted: the operator removes the lost member and adds an empty one in its place. */
async function replaceMember(env: BenchEnvironment, results: Results, ordinal: number): Promise<void> {
  const podName = `${name}-${ordinal}`;
  const memberId = async () => (await env.cluster(ns, name)).status?.members?.find((m) => m.name === podName)?.memberID;
  const before = await memberId();
  const mark = env.audit.mark();
  const t0 = performance.now();
  await env.kubectl(['delete', 'pvc', `data-${podName}`, '-n', ns, '--wait=false']);
  await env.kubectl(['delete', 'pod', podName, '-n', ns, '--wait=false']);
  await waitFor(`${podName} replaced`, async () => {
    const id = await memberId();
    return id !== undefined && id !== before && (await env.converged(ns, name, 3));
  }, { timeoutMs: 240_000, intervalMs: 100 });
  // No EtcdCluster write starts this one: the timeline starts at the first event after the deletion.
  if (ordinal === 0) results.details['timeline.replace'] = env.audit.since(mark).filter((e) => e.verb !== 'get' && e.verb !== 'list' && e.verb !== 'watch').map((e) => `${e.requestReceivedTimestamp.slice(17, 26)} ${e.user.username === operatorUser ? 'operator' : 'agent'} ${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''} ${e.objectRef?.name ?? ''}`);
  results.add({ id: 'recovery.replace', section, label: 'pod + PVC deleted -> new member, status converged', unit: 'ms', floor: 'floor.learner' }, performance.now() - t0);
}

export async function recovery(env: BenchEnvironment, results: Results, options: RunOptions): Promise<void> {
  await ensureNamespace(env, ns);
  await env.kubectl(['apply', '-f', '-'], etcdCluster(ns, name, 3));
  await env.waitConverged(ns, name, 3);
  for (let run = 0; run < options.runs; run++) {
    // Each run hits another ordinal, and replacing it gives it a fresh pod: no crash-loop backoff.
    const ordinal = run % 3;
    await waitQuiet(env, 1_000);
    await killMember(env, results, ordinal);
    await waitQuiet(env, 1_000);
    await replaceMember(env, results, ordinal);
    console.log(`[bench] recovery run ${run + 1}/${options.runs} done`);
  }
  await deleteClusters(env, ns, [name]);
}
