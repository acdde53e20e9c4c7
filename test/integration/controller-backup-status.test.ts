import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
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
});
