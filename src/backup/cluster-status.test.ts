import { describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { clusterBackupStatus, scheduleProblem } from './cluster-status.js';

const destination = { endpoint: 'https://s3', bucket: 'bk', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's' } };
const backup = (name: string, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', completionTime?: string, cluster = 'db'): EtcdBackup => ({
  apiVersion: 'etcd.operator.dev/v1alpha1',
  kind: 'EtcdBackup',
  metadata: { name, namespace: 'ns' },
  spec: { clusterName: cluster, compression: 'none', destination },
  status: {
    phase,
    completionTime,
    ...(phase === 'Succeeded' ? { revision: 42, sizeBytes: 1000, key: `ns/db/${name}.db` } : {}),
    ...(phase === 'Failed' ? { conditions: [{ type: 'Failed', status: 'True', reason: 'BucketNotFound', message: 'no bucket', lastTransitionTime: completionTime! }] } : {}),
  },
});
const schedule = (expression: string, suspend = false): EtcdCluster['spec']['backup'] => ({ schedule: expression, suspend, destination, compression: 'none' });
const now = new Date('2026-03-10T12:34:56Z');
const db = (backup?: EtcdCluster['spec']['backup']): EtcdCluster => ({ metadata: { name: 'db', namespace: 'ns', uid: 'u-db' }, spec: { backup } }) as unknown as EtcdCluster;

describe('clusterBackupStatus', () => {
  it('says nothing for a cluster without backups or schedule', () => {
    expect(clusterBackupStatus(db(), [], now)).toBeUndefined();
    expect(clusterBackupStatus(db(), [backup('other', 'Succeeded', '2026-03-10T00:00:00Z', 'other')], now)).toBeUndefined();
  });

  // A cluster deleted and created again under its name is another object: the old one's backups
  // (newer ones included) are not its own, neither its success nor its failures.
  it('counts only backups of this cluster object, not those of an earlier one of the same name', () => {
    const of = (b: EtcdBackup, clusterUID: string): EtcdBackup => ({ ...b, status: { ...b.status, clusterUID } });
    const list = [of(backup('old-ok', 'Succeeded', '2026-03-10T03:00:00Z'), 'u-old'), of(backup('old-bad', 'Failed', '2026-03-10T04:00:00Z'), 'u-old'), of(backup('mine', 'Succeeded', '2026-03-10T02:00:00Z'), 'u-db')];
    expect(clusterBackupStatus(db(), list, now)).toEqual({ lastSuccessful: { name: 'mine', completionTime: '2026-03-10T02:00:00Z', revision: 42, sizeBytes: 1000, key: 'ns/db/mine.db' }, failuresSinceSuccess: 0 });
    expect(clusterBackupStatus(db(), list.slice(0, 2), now)).toBeUndefined();
  });

  it('the newest success, by completion time, not by name or list order', () => {
    const s = clusterBackupStatus(db(), [backup('b', 'Succeeded', '2026-03-10T02:00:00Z'), backup('a', 'Succeeded', '2026-03-10T03:00:00Z'), backup('c', 'Running')], now);
    expect(s).toEqual({ lastSuccessful: { name: 'a', completionTime: '2026-03-10T03:00:00Z', revision: 42, sizeBytes: 1000, key: 'ns/db/a.db' }, failuresSinceSuccess: 0 });
  });

  it('failures after the last success are counted and the newest is shown beside it', () => {
    const s = clusterBackupStatus(db(), [backup('ok', 'Succeeded', '2026-03-10T01:00:00Z'), backup('f1', 'Failed', '2026-03-10T02:00:00Z'), backup('f2', 'Failed', '2026-03-10T03:00:00Z'), backup('old', 'Failed', '2026-03-09T00:00:00Z')], now);
    expect(s?.lastSuccessful?.name).toBe('ok');
    expect(s?.lastFailed).toEqual({ name: 'f2', completionTime: '2026-03-10T03:00:00Z', reason: 'BucketNotFound', message: 'no bucket' });
    expect(s?.failuresSinceSuccess).toBe(2);
  });

  it('a success after failures clears them', () => {
    const s = clusterBackupStatus(db(), [backup('f', 'Failed', '2026-03-10T01:00:00Z'), backup('ok', 'Succeeded', '2026-03-10T02:00:00Z')], now);
    expect(s?.lastFailed).toBeUndefined();
    expect(s?.failuresSinceSuccess).toBe(0);
  });

  it('only failures, never a success', () => {
    const s = clusterBackupStatus(db(), [backup('f', 'Failed', '2026-03-10T01:00:00Z')], now);
    expect(s).toMatchObject({ lastFailed: { name: 'f' }, failuresSinceSuccess: 1 });
    expect(s?.lastSuccessful).toBeUndefined();
  });

  it('the next slot of the schedule; none while suspended or when it never fires', () => {
    expect(clusterBackupStatus(db(schedule('0 */6 * * *')), [], now)).toEqual({ failuresSinceSuccess: 0, nextScheduleTime: '2026-03-10T18:00:00.000Z' });
    expect(clusterBackupStatus(db(schedule('0 */6 * * *', true)), [], now)).toEqual({ failuresSinceSuccess: 0 });
    expect(clusterBackupStatus(db(schedule('0 0 30 2 *')), [], now)).toEqual({ failuresSinceSuccess: 0 });
  });
});

describe('scheduleProblem', () => {
  it.each([
    ['0 */6 * * *', undefined],
    ['@daily', undefined],
    // February 29 comes every four years: it works.
    ['0 0 29 2 *', undefined],
    ['0 0 30 2 *', 'BackupScheduleNeverFires'],
    ['0 0 31 4,6,9,11 *', 'BackupScheduleNeverFires'],
    ['30-10 * * * *', 'BackupScheduleInvalid'],
    ['61 * * * *', 'BackupScheduleInvalid'],
  ])('%s -> %s', (expression, reason) => {
    const problem = scheduleProblem(schedule(expression), now);
    expect(problem?.reason).toBe(reason);
    if (problem) expect(problem.message).toContain('spec.backup.schedule');
  });

  it('no schedule, no problem', () => expect(scheduleProblem(undefined, now)).toBeUndefined());
});
