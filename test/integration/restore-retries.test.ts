import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotationKeys } from '../../src/resources/names.js';
import { maxRestoreRetries } from '../../src/restore/plan.js';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench } from './reconciler-bench.js';

// The retry count of a restore pod against a real API server, one pass at a time. No kubelet
// runs: the test writes each restore pod's status as a kubelet would (the fetch step exiting 75,
// "may clear by itself", finished an hour ago so no pause is left). Four retries, then the
// restore stops and keeps the failed pod; a user who fixed the cause deletes it and gets the
// full count again, which the status and an event say.
describe('restore retries start again when the user deletes the failed restore pod', () => {
  let bench: ReconcilerBench;
  const name = 'retried';
  const podName = `${name}-restore-0`;
  const claimName = `data-${name}-0`;

  beforeAll(async () => {
    bench = await ReconcilerBench.start('restore-retries');
    bench.claimsFromCache = true;
  });
  afterAll(async () => bench?.stop());

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
  /** As the kubelet would: the fetch step exited 75 an hour ago. */
  async function failTransiently(): Promise<string> {
    const uid = cachedPod()!.metadata!.uid!;
    const finishedAt = new Date(Date.now() - 3600_000).toISOString();
    const terminated = { exitCode: 75, reason: 'Error', message: 'Error: connect ECONNREFUSED 127.0.0.1:1', startedAt: finishedAt, finishedAt };
    const status = { phase: 'Failed', initContainerStatuses: [{ name: 'fetch', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated } }] };
    await bench.kubectl('patch', 'pod', podName, '-n', bench.ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    await waitFor('the cache to see the failed pod', () => cachedPod()?.status?.phase === 'Failed');
    return uid;
  }
  const podRetries = () => cachedPod()?.metadata?.annotations?.[annotationKeys.restoreRetries];
  const condition = async (type: string) => (await bench.cluster(name)).status?.conditions?.find((c) => c.type === type);

  it('four retries, a stop that keeps the pod, then a full count again after the user deletes it', async () => {
    await bench.create(name, { replicas: 1, restore: { destination: { endpoint: 'https://127.0.0.1:1', bucket: 'backups', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' } }, key: 'k.db' } });
    await passUntil('the first restore pod', () => cachedPod() !== undefined);
    expect(podRetries()).toBe('0');

    for (let retry = 1; retry <= maxRestoreRetries; retry++) {
      const uid = await failTransiently();
      const writes = await passUntil(`retry ${retry}: a new restore pod`, () => cachedPod() !== undefined && cachedPod()!.metadata!.uid !== uid);
      expect(writes).toContain('event RestoreRetried');
      expect(podRetries()).toBe(String(retry));
    }
    await failTransiently();
    await bench.pass(name);
    const stopped = await condition('Degraded');
    console.log(`after ${maxRestoreRetries} retries: ${stopped?.reason}: ${stopped?.message}`);
    expect(stopped).toMatchObject({ status: 'True', reason: 'RestoreFailed' });
    expect(stopped!.message).toContain(`(run ${maxRestoreRetries + 1} times)`);
    expect(cachedPod()?.status?.phase).toBe('Failed');

    // The user fixed the endpoint and deletes the failed pod: a first run again, with a full count.
    const uid = cachedPod()!.metadata!.uid!;
    await bench.kubectl('delete', 'pod', podName, '-n', bench.ns, '--wait=true');
    await waitFor('the cache to see the pod gone', () => cachedPod() === undefined);
    const writes = await passUntil('a new restore pod after the deletion', () => cachedPod() !== undefined && cachedPod()!.metadata!.uid !== uid);
    console.log(`after the user deleted the failed pod: ${JSON.stringify(writes)}; Progressing: ${(await condition('Progressing'))?.message}`);
    expect(writes).toContain('event RestoreRetriesReset');
    expect(podRetries()).toBe('0');
    expect((await condition('Progressing'))?.message).toContain('the retry count starts again');
    await waitFor('the claim\'s count cleared', () => cachedClaim()?.metadata?.annotations?.[annotationKeys.restoreRetries] === undefined);

    // Failing again the same way is retried, not a verdict.
    const again = await failTransiently();
    const retried = await passUntil('a retry after the reset', () => cachedPod() !== undefined && cachedPod()!.metadata!.uid !== again);
    expect(retried).toContain('event RestoreRetried');
    expect(podRetries()).toBe('1');
    expect((await condition('Degraded'))?.status).not.toBe('True');
  });
});
