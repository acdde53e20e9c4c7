import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { annotationKeys } from '../../src/resources/names.js';
import { waitFor } from '../harness/wait.js';
import type { ReconcilerBench } from './reconciler-bench.js';

/**
 * Drives the first restore pod of cluster `name` (spec.restore's or a recovery's) one pass at a
 * time against a real API server. No kubelet runs: the test writes the pod's status as a kubelet
 * would, finished an hour ago so that no retry pause is left.
 */
export function restorePodDriver(benchOf: () => ReconcilerBench, name: string) {
  // The bench starts in beforeAll, after the suite made its driver.
  const bench = new Proxy({} as ReconcilerBench, { get: (_, key) => Reflect.get(benchOf(), key) as unknown });
  const podName = `${name}-restore-0`;
  const claimName = `data-${name}-0`;
  const cachedPod = () => bench.cache.get('Pod', bench.ns, podName) as V1Pod | undefined;
  const cachedClaim = () => bench.cache.get('PersistentVolumeClaim', bench.ns, claimName) as V1PersistentVolumeClaim | undefined;
  /** Passes (the cache caught up after each) until `done` holds; returns every write made. */
  async function passUntil(what: string, done: () => boolean): Promise<string[]> {
    const writes: string[] = [];
    for (let i = 0; i < 8 && !done(); i++) {
      const [pod, claim] = [cachedPod()?.metadata?.resourceVersion, cachedClaim()?.metadata?.resourceVersion];
      const made = await bench.pass(name);
      writes.push(...made);
      // The next pass must see this one's writes, as the operator's would (it waits for events).
      if (made.some((w) => w.endsWith(`Pod/${podName}`))) await waitFor('the cache to see the pod written', () => cachedPod()?.metadata?.resourceVersion !== pod);
      if (made.includes(`apply PersistentVolumeClaim/${claimName}`)) await waitFor('the cache to see the claim written', () => cachedClaim()?.metadata?.resourceVersion !== claim);
    }
    if (!done()) throw new Error(`passes did not reach: ${what}; writes ${JSON.stringify(writes)}`);
    return writes;
  }
  /** The fetch step exited `exitCode` with `message`; returns the failed pod's UID. */
  async function fail(exitCode: number, message: string): Promise<string> {
    const uid = cachedPod()!.metadata!.uid!;
    const finishedAt = new Date(Date.now() - 3600_000).toISOString();
    const terminated = { exitCode, reason: 'Error', message, startedAt: finishedAt, finishedAt };
    const status = { phase: 'Failed', initContainerStatuses: [{ name: 'fetch', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated } }] };
    await bench.kubectl('patch', 'pod', podName, '-n', bench.ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    await waitFor('the cache to see the failed pod', () => cachedPod()?.status?.phase === 'Failed');
    return uid;
  }
  return {
    podName,
    claimName,
    cachedPod,
    cachedClaim,
    passUntil,
    fail,
    /** Exit 75, "may clear by itself": the object store did not answer. */
    failTransiently: () => fail(75, 'Error: connect ECONNREFUSED 127.0.0.1:1'),
    podRetries: () => cachedPod()?.metadata?.annotations?.[annotationKeys.restoreRetries],
    condition: async (type: string) => (await bench.cluster(name)).status?.conditions?.find((c) => c.type === type),
  };
}
