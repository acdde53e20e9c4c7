import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotationKeys } from '../../src/resources/names.js';
import { maxRestoreRetries } from '../../src/restore/plan.js';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench } from './reconciler-bench.js';
import { restorePodDriver } from './restore-pod-driver.js';

// The retry count of a restore pod against a real API server, one pass at a time. No kubelet
// runs: the test writes each restore pod's status as a kubelet would (the fetch step exiting 75,
// "may clear by itself", finished an hour ago so no pause is left). Four retries, then the
// restore stops and keeps the failed pod; a user who fixed the cause deletes it and gets the
// full count again, which the status and an event say.
describe('restore retries start again when the user deletes the failed restore pod', () => {
  let bench: ReconcilerBench;
  const name = 'retried';
  beforeAll(async () => {
    bench = await ReconcilerBench.start('restore-retries');
    bench.claimsFromCache = true;
  });
  afterAll(async () => bench?.stop());
  const { podName, cachedPod, cachedClaim, passUntil, failTransiently, podRetries, condition } = restorePodDriver(() => bench, name);

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
