import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import { ScheduleReconciler, retentionBlocked } from '../../src/backup/schedule.js';
import { backupSlotAnnotation, scheduledBackupLabels, scheduledBackupName } from '../../src/resources/names.js';
import { realClock } from '../../src/runtime/clock.js';
import type { Store } from '../../src/runtime/store.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { waitFor } from '../harness/wait.js';
import { ReconcilerBench } from './reconciler-bench.js';

// The EtcdCluster's status.backup, rebuilt each pass from the cluster's EtcdBackups and written
// through the real API server (a field gone inside status.backup must go from the stored object
// too), and a backup schedule that can never fire said in Degraded and a Warning event.
describe('EtcdCluster status.backup', () => {
  let bench: ReconcilerBench;
  const destination = { endpoint: 'https://s3.example', bucket: 'backups', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' } };
  const backup = (name: string, phase: 'Succeeded' | 'Failed', completionTime: string): EtcdBackup => ({
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name, namespace: 'default' },
    spec: { clusterName: 'backed', compression: 'none', destination },
    status: phase === 'Succeeded'
      ? { phase, completionTime, revision: 7, sizeBytes: 4096, key: `default/backed/${name}.db` }
      : { phase, completionTime, conditions: [{ type: 'Failed', status: 'True', reason: 'CredentialsRejected', message: 'refused', lastTransitionTime: completionTime }] },
  });
  const degraded = async (name: string) => (await bench.cluster(name)).status?.conditions?.find((c) => c.type === 'Degraded');
  const warnings = async () => (await bench.kubectl('get', 'events', '-n', bench.ns, '--field-selector', 'involvedObject.kind=EtcdCluster,type=Warning', '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}')).trim().split('\n');

  beforeAll(async () => {
    bench = await ReconcilerBench.start('controller-backup-status');
  });
  afterAll(async () => bench?.stop());

  it('shows the last success, the failure after it, and drops the failure once a newer backup succeeds', async () => {
    await bench.create('backed');
    await bench.settle('backed');
    bench.backups = [backup('first', 'Succeeded', '2026-01-01T00:00:00Z'), backup('broken', 'Failed', '2026-01-01T01:00:00Z')];
    await bench.pass('backed');
    expect((await bench.cluster('backed')).status?.backup).toEqual({
      lastSuccessful: { name: 'first', completionTime: '2026-01-01T00:00:00Z', revision: 7, sizeBytes: 4096, key: 'default/backed/first.db' },
      lastFailed: { name: 'broken', completionTime: '2026-01-01T01:00:00Z', reason: 'CredentialsRejected', message: 'refused' },
      failuresSinceSuccess: 1,
    });
    bench.backups.push(backup('fixed', 'Succeeded', '2026-01-01T02:00:00Z'));
    await bench.pass('backed');
    const status = (await bench.cluster('backed')).status?.backup;
    expect(status).toEqual({ lastSuccessful: { name: 'fixed', completionTime: '2026-01-01T02:00:00Z', revision: 7, sizeBytes: 4096, key: 'default/backed/fixed.db' }, failuresSinceSuccess: 0 });
    const columns = await bench.kubectl('get', 'etcdcluster', 'backed', '-n', bench.ns);
    console.log(columns);
    expect(columns.split('\n')[0]).toMatch(/LAST BACKUP\s+AGE$/);
    // Nothing changed: the next pass writes nothing.
    expect(await bench.pass('backed')).toEqual([]);
  });

  // Before the fix the new cluster's status named the old one's backup as its last successful
  // (backups were matched by cluster name alone), and a consented recovery would have taken it
  // for a backup of this cluster.
  it('a cluster deleted and created again under its name does not show the old one\'s backups as its own', async () => {
    const name = 'again';
    await bench.create(name);
    const first = (await bench.cluster(name)).metadata.uid!;
    const of = (b: EtcdBackup, clusterUID: string): EtcdBackup => ({ ...b, spec: { ...b.spec, clusterName: name }, status: { ...b.status, clusterUID } });
    bench.backups = [of(backup('old-ok', 'Succeeded', '2026-01-01T00:00:00Z'), first), of(backup('old-broken', 'Failed', '2026-01-01T01:00:00Z'), first)];
    await bench.pass(name);
    expect((await bench.cluster(name)).status?.backup).toMatchObject({ lastSuccessful: { name: 'old-ok' }, failuresSinceSuccess: 1 });

    await bench.kubectl('delete', 'etcdcluster', name, '-n', bench.ns, '--wait=true');
    await bench.create(name);
    await waitFor('the new cluster in the cache', () => bench.cache.get('EtcdCluster', bench.ns, name)?.metadata?.uid !== first);
    await bench.pass(name);
    const remade = await bench.cluster(name);
    console.log(`re-created cluster: status.backup ${JSON.stringify(remade.status?.backup)}`);
    expect(remade.metadata.uid).not.toBe(first);
    expect(remade.status?.backup).toBeUndefined();
    // Its own backups count again.
    bench.backups.push(of(backup('new-ok', 'Succeeded', '2026-01-01T00:30:00Z'), remade.metadata.uid!));
    await bench.pass(name);
    expect((await bench.cluster(name)).status?.backup).toMatchObject({ lastSuccessful: { name: 'new-ok' }, failuresSinceSuccess: 0 });
  });

  // Retention prunes what this cluster's schedule made, not the scheduled backups an earlier
  // cluster of the name left (perhaps the only copy of its data). Before the fix they counted as
  // this schedule's: the oldest was due and retention tried to delete it (RetentionBlocked here,
  // as the credentials Secret does not exist; with it, the backup and its object were gone).
  it('retention of a cluster made again under a name leaves the earlier cluster\'s scheduled backups alone', async () => {
    const name = 'heir';
    const ref = { namespace: bench.ns, name };
    await bench.create(name, { backup: { schedule: '* * * * *', suspend: false, destination, compression: 'none', retention: { keepLast: 1 } } });
    await waitFor('the cluster in the cache', () => bench.cache.get('EtcdCluster', bench.ns, name) !== undefined);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const slots = [4, 3].map((m) => new Date(minute - m * 60_000));
    for (const slot of slots) {
      const backupName = scheduledBackupName(ref, slot);
      const object = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: backupName, namespace: bench.ns, labels: scheduledBackupLabels(ref), annotations: { [backupSlotAnnotation]: slot.toISOString() } }, spec: { clusterName: name, compression: 'none', destination } };
      const applied = await bench.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
      expect(applied.code, applied.stderr).toBe(0);
      const status = { phase: 'Succeeded', completionTime: slot.toISOString(), bucket: 'backups', key: `default/heir/${backupName}.db`, sha256: 'a'.repeat(64), clusterUID: '00000000-0000-0000-0000-0000000000aa' };
      await bench.kubectl('patch', 'etcdbackup', backupName, '-n', bench.ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    }
    const listed = async () => (JSON.parse(await bench.kubectl('get', 'etcdbackups', '-n', bench.ns, '-o', 'json')) as { items: EtcdBackup[] }).items.filter((b) => b.spec.clusterName === name);
    let items = await listed();
    const store = { list: () => items, get: (_: string, n: string) => items.find((b) => b.metadata.name === n) } as unknown as Store<EtcdBackup>;
    const schedule = new ScheduleReconciler({ kc: bench.cp.kubeConfig(), cache: bench.cache, backups: () => store, clock: realClock });
    await schedule.reconcile(`${bench.ns}/${name}`, { log: createLogger('error'), passId: 'test', signal: new AbortController().signal });
    items = await listed();
    const earlier = items.filter((b) => b.status?.clusterUID === '00000000-0000-0000-0000-0000000000aa');
    console.log(`the earlier cluster's scheduled backups after a retention pass: ${JSON.stringify(earlier.map((b) => ({ name: b.metadata.name, conditions: b.status?.conditions?.map((c) => c.reason) })))}`);
    expect(earlier.map((b) => b.metadata.name).sort()).toEqual(slots.map((slot) => scheduledBackupName(ref, slot)).sort());
    expect(earlier.flatMap((b) => b.status?.conditions ?? [])).toEqual([]);
  });

  it('a schedule for February 30 is Degraded with a Warning event, and fixing it clears both', async () => {
    bench.backups = [];
    await bench.create('never', { backup: { schedule: '0 0 30 2 *', suspend: false, destination, compression: 'none' } });
    await bench.pass('never');
    const d = await degraded('never');
    console.log(`Degraded: ${d?.reason}: ${d?.message}`);
    expect(d).toMatchObject({ status: 'True', reason: 'BackupScheduleNeverFires' });
    expect(d?.message).toContain('0 0 30 2 *');
    expect(await warnings()).toContain('BackupScheduleNeverFires');
    expect((await bench.cluster('never')).status?.backup?.nextScheduleTime).toBeUndefined();

    await bench.kubectl('patch', 'etcdcluster', 'never', '-n', bench.ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: { schedule: '0 */6 * * *' } } }));
    await bench.pass('never');
    expect((await degraded('never'))?.reason).not.toBe('BackupScheduleNeverFires');
    expect(Date.parse((await bench.cluster('never')).status?.backup?.nextScheduleTime ?? '')).toBeGreaterThan(Date.now());
  });

  // Before the fix the schedule pass threw (CredentialsSecretInvalid) after creating the slot's
  // backup: no requeue at the next slot, only the queue's backoff (up to minutes), and nothing
  // in any status or event said why old backups stayed.
  it('retention that cannot delete (its credentials Secret is gone) keeps the schedule on time, keeps the backup, and says why once', async () => {
    const name = 'kept';
    const ref = { namespace: bench.ns, name };
    await bench.create(name, { backup: { schedule: '* * * * *', suspend: false, destination, compression: 'none', retention: { keepLast: 1 } } });
    await waitFor('the cluster in the cache', () => bench.cache.get('EtcdCluster', bench.ns, name) !== undefined);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const [oldest, older, newer] = [4, 3, 2].map((m) => new Date(minute - m * 60_000));
    for (const slot of [oldest!, older!, newer!]) {
      const backupName = scheduledBackupName(ref, slot);
      const object = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: backupName, namespace: bench.ns, labels: scheduledBackupLabels(ref), annotations: { [backupSlotAnnotation]: slot.toISOString() } }, spec: { clusterName: name, compression: 'none', destination } };
      const applied = await bench.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(object) });
      expect(applied.code, applied.stderr).toBe(0);
      const status = { phase: 'Succeeded', completionTime: slot.toISOString(), bucket: 'backups', key: `default/kept/${backupName}.db`, sha256: 'a'.repeat(64) };
      await bench.kubectl('patch', 'etcdbackup', backupName, '-n', bench.ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
    }
    const listed = async () => (JSON.parse(await bench.kubectl('get', 'etcdbackups', '-n', bench.ns, '-o', 'json')) as { items: EtcdBackup[] }).items.filter((b) => b.spec.clusterName === name);
    let items = await listed();
    const store = { list: () => items, get: (_: string, n: string) => items.find((b) => b.metadata.name === n) } as unknown as Store<EtcdBackup>;
    const schedule = new ScheduleReconciler({ kc: bench.cp.kubeConfig(), cache: bench.cache, backups: () => store, clock: realClock });
    const ctx = { log: createLogger('error'), passId: 'test', signal: new AbortController().signal };
    const result = await schedule.reconcile(`${bench.ns}/${name}`, ctx);
    expect(result.requeueAfterMs).toBeLessThanOrEqual(60_000);
    items = await listed();
    // The slot's backup was created (this minute's, or the next if the minute just turned), and none deleted.
    expect(items).toHaveLength(4);
    expect(items.map((b) => b.metadata.name)).toEqual(expect.arrayContaining([oldest, older, newer].map((slot) => scheduledBackupName(ref, slot!))));
    const kept = items.find((b) => b.metadata.name === scheduledBackupName(ref, oldest!))!;
    // The next one to go has the same destination: it waits for the retry rather than the same timeouts.
    expect(items.find((b) => b.metadata.name === scheduledBackupName(ref, older!))!.status?.conditions).toBeUndefined();
    const condition = kept.status?.conditions?.find((c) => c.type === retentionBlocked);
    console.log(`${retentionBlocked}: ${condition?.reason}: ${condition?.message}`);
    expect(condition).toMatchObject({ status: 'True', reason: 'CredentialsSecretInvalid', message: expect.stringMatching(/^retention could not delete s3:\/\/backups\/default\/kept\/kept-\d+\.db: Secret s3 .*does not exist.*; create it\. The backup and its object are kept/) as string });
    expect(kept.status?.phase).toBe('Succeeded');
    // A second pass with the same cause says nothing again.
    await schedule.reconcile(`${bench.ns}/${name}`, ctx);
    const events = (await bench.kubectl('get', 'events', '-n', bench.ns, '--field-selector', `involvedObject.kind=EtcdBackup,involvedObject.name=${kept.metadata.name},type=Warning`, '-o', 'jsonpath={range .items[*]}{.reason}{"\\n"}{end}')).trim().split('\n');
    expect(events).toEqual(['CredentialsSecretInvalid']);
  });
});
