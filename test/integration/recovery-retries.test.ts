import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import { maxRestoreRetries } from '../../src/restore/plan.js';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench } from './reconciler-bench.js';
import { restorePodDriver } from './restore-pod-driver.js';

// A consented recovery from a backup runs restore pods of its own (src/recovery). Their fetch
// failing for a reason that may clear by itself (the object store unreachable or 5xx: exit 75)
// is retried exactly as spec.restore's is: four times with a pause that doubles, the count kept
// on the pod; then the recovery stops with the reason. A verdict (object missing, digest) stops
// it at once. Real API server, one pass at a time; the test writes each restore pod's status as
// a kubelet would, finished an hour ago so no pause is left. The recovery is put in its Restoring
// phase through the status, as a pass that deleted the old members would have left it.
describe('a consented recovery from a backup retries its restore pods like spec.restore', () => {
  let bench: ReconcilerBench;
  const name = 'recretry';
  const destination = { endpoint: 'https://127.0.0.1:1', bucket: 'backups', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' } };
  beforeAll(async () => {
    bench = await ReconcilerBench.start('recovery-retries');
    bench.claimsFromCache = true;
  });
  afterAll(async () => bench?.stop());
  const { podName, cachedPod, passUntil, fail, failTransiently, podRetries, condition } = restorePodDriver(() => bench, name);

  it('retries a transient fetch failure four times, then stops with the reason; a verdict stops at once', async () => {
    await bench.create(name, { replicas: 1 });
    // A first pass makes the CA and certificates, as for a cluster that ran before it lost its quorum.
    await bench.pass(name);
    await bench.kubectl('delete', 'statefulset', name, '-n', bench.ns, '--ignore-not-found');
    const uid = (await bench.cluster(name)).metadata.uid!;
    const backup: EtcdBackup = {
      apiVersion: 'etcd.operator.dev/v1alpha1',
      kind: 'EtcdBackup',
      metadata: { name: 'snap', namespace: bench.ns },
      spec: { clusterName: name, destination },
      status: { phase: 'Succeeded', key: 'recretry/snap.db', sha256: 'a'.repeat(64), revision: 60, etcdVersion: '3.5.35' },
    } as EtcdBackup;
    bench.backups = [backup];
    const consent = { clusterUID: uid, fromBackup: { backupName: 'snap' } };
    await bench.kubectl('patch', 'etcdcluster', name, '-n', bench.ns, '--type=merge', '-p', JSON.stringify({ spec: { recovery: consent } }));
    const recovery = { consent, phase: 'Restoring', revision: 60, lostRevisions: 0, startedAt: new Date().toISOString(), message: 'restoring' };
    await bench.kubectl('patch', 'etcdcluster', name, '-n', bench.ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { clusterID: 'abc', recovery } }));
    await waitFor('the cache to see the recovery', () => (bench.cache.get('EtcdCluster', bench.ns, name) as { status?: { recovery?: unknown } } | undefined)?.status?.recovery !== undefined);

    await passUntil('the first restore pod', () => cachedPod() !== undefined);
    expect(podRetries()).toBe('0');
    for (let retry = 1; retry <= maxRestoreRetries; retry++) {
      const before = await failTransiently();
      const writes = await passUntil(`retry ${retry}: a new restore pod`, () => cachedPod() !== undefined && cachedPod()!.metadata!.uid !== before);
      expect(writes).toContain('event RestoreRetried');
      expect(podRetries()).toBe(String(retry));
      const degraded = await condition('Degraded');
      expect(degraded?.status === 'True' ? degraded.message : '').not.toContain('recovery');
    }
    await failTransiently();
    await bench.pass(name);
    const stopped = await condition('Degraded');
    console.log(`after ${maxRestoreRetries} retries: ${stopped?.reason}: ${stopped?.message}`);
    expect(stopped).toMatchObject({ status: 'True', reason: 'RecoveryFailed', observedGeneration: (await bench.cluster(name)).metadata.generation });
    expect(stopped!.message).toContain(`(run ${maxRestoreRetries + 1} times)`);
    expect(cachedPod()?.status?.phase).toBe('Failed');

    // The user fixed the endpoint and deletes the failed pod: a first run, with a full count.
    const gone = cachedPod()!.metadata!.uid!;
    await bench.kubectl('delete', 'pod', podName, '-n', bench.ns, '--wait=true');
    await waitFor('the cache to see the pod gone', () => cachedPod() === undefined);
    await passUntil('a new restore pod after the deletion', () => cachedPod() !== undefined && cachedPod()!.metadata!.uid !== gone);
    expect(podRetries()).toBe('0');

    // A verdict (the object is not there) is not retried: the recovery stops at once, saying why.
    const missing = await fail(1, 'SnapshotNotFound: the object backups/recretry/snap.db does not exist');
    const writes = await bench.pass(name);
    expect(writes).not.toContain(`delete Pod/${podName}`);
    expect(cachedPod()?.metadata?.uid).toBe(missing);
    const verdict = await condition('Degraded');
    console.log(`after a verdict: ${verdict?.reason}: ${verdict?.message}`);
    expect(verdict).toMatchObject({ status: 'True', reason: 'RecoveryFailed' });
    expect(verdict!.message).toContain('SnapshotNotFound');
  });
});
