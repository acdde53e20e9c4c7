import { describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { BackupResult } from './plan.js';
import { backupStatus } from './status.js';

const backup = (status?: EtcdBackup['status']): EtcdBackup => ({
  apiVersion: 'etcd.operator.dev/v1alpha1',
  kind: 'EtcdBackup',
  metadata: { name: 'b', namespace: 'ns', generation: 1 },
  spec: { clusterName: 'db', compression: 'gzip', destination: { endpoint: 'https://s3', bucket: 'bk', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's' } } },
  ...(status ? { status } : {}),
});
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:01:00Z');
const result: BackupResult = { member: 'db-1', revision: 9, clusterID: 'ab', clusterUID: 'uid-a', etcdVersion: '3.6.16', snapshotSizeBytes: 200, snapshotSha256: 'aa', sizeBytes: 100, sha256: 'bb', bucket: 'bk', key: 'ns/db/b.db.gz', durationMs: 3 };
const condition = (s: EtcdBackup['status'], type: string) => s?.conditions?.find((c) => c.type === type);

describe('backupStatus', () => {
  it('a new backup waiting for its cluster is Pending, not failed', () => {
    const s = backupStatus(backup(), { kind: 'wait', reason: 'ClusterNotFound', message: 'no cluster', afterMs: 1 }, t0);
    expect(s.phase).toBe('Pending');
    expect(condition(s, 'Complete')).toMatchObject({ status: 'False', reason: 'ClusterNotFound', observedGeneration: 1 });
    expect(condition(s, 'Failed')?.status).toBe('False');
  });

  it('start records the attempt and the start time once', () => {
    const first = backupStatus(backup(), { kind: 'start', attempt: 1, clusterUID: 'uid-a' }, t0);
    expect(first).toMatchObject({ phase: 'Running', attempts: 1, startTime: t0.toISOString(), compression: 'gzip', clusterUID: 'uid-a' });
    const second = backupStatus(backup(first), { kind: 'start', attempt: 2, clusterUID: 'uid-a' }, t1);
    expect(second).toMatchObject({ attempts: 2, startTime: t0.toISOString(), clusterUID: 'uid-a' });
  });

  it('success records the result, without the duration, and completes', () => {
    const running = backupStatus(backup(), { kind: 'start', attempt: 1, clusterUID: 'uid-a' }, t0);
    const s = backupStatus(backup(running), { kind: 'succeed', result }, t1);
    expect(s).toMatchObject({ phase: 'Succeeded', completionTime: t1.toISOString(), revision: 9, sha256: 'bb', snapshotSha256: 'aa', key: 'ns/db/b.db.gz', member: 'db-1', clusterUID: 'uid-a' });
    expect(s).not.toHaveProperty('durationMs');
    expect(condition(s, 'Complete')).toMatchObject({ status: 'True', reason: 'Uploaded', lastTransitionTime: t1.toISOString() });
    expect(condition(s, 'Failed')).toMatchObject({ status: 'False', lastTransitionTime: t0.toISOString() });
  });

  it('a revision that could not be read from the database is said to be a lower bound', () => {
    const exact = backupStatus(backup(), { kind: 'succeed', result }, t1);
    expect(condition(exact, 'Complete')?.message).toContain('(revision 9, from db-1');
    const s = backupStatus(backup(), { kind: 'succeed', result: { ...result, revisionUnread: 'page 3 of the snapshot is not a page of its tree' } }, t1);
    expect(s.revision).toBe(9);
    expect(s).not.toHaveProperty('revisionUnread');
    expect(condition(s, 'Complete')?.message).toContain('revision at least 9: the snapshot\'s own could not be read (page 3 of the snapshot is not a page of its tree)');
  });

  it('failure sets Failed=True with the reason and message', () => {
    const s = backupStatus(backup(), { kind: 'fail', failure: { reason: 'BucketNotFound', message: 'no bucket', retryable: false } }, t1);
    expect(s.phase).toBe('Failed');
    expect(condition(s, 'Failed')).toMatchObject({ status: 'True', reason: 'BucketNotFound', message: 'no bucket' });
  });

  it('while an attempt runs, status shows how far it got and when a byte last moved; a new attempt starts from nothing', () => {
    const running = backupStatus(backup(), { kind: 'start', attempt: 1, clusterUID: 'uid-a' }, t0);
    expect(running.upload).toEqual({ storedBytes: 0, lastProgressTime: t0.toISOString() });
    const uploading = { kind: 'wait', reason: 'Uploading', message: 'streaming', afterMs: 0 } as const;
    const moved = backupStatus(backup(running), uploading, t1, { storedBytes: 8 << 20, lastProgressAtMs: t0.getTime() + 500 });
    expect(moved.upload).toEqual({ storedBytes: 8 << 20, lastProgressTime: new Date(t0.getTime() + 500).toISOString() });
    // A pass without an attempt of this process to ask keeps what status said.
    expect(backupStatus(backup(moved), uploading, t1).upload).toEqual(moved.upload);
    const retried = backupStatus(backup(moved), { kind: 'start', attempt: 2, clusterUID: 'uid-a' }, t1);
    expect(retried.upload).toEqual({ storedBytes: 0, lastProgressTime: t1.toISOString() });
    expect(backupStatus(backup(retried), { kind: 'succeed', result }, t1).upload).toEqual({ storedBytes: result.sizeBytes, lastProgressTime: t1.toISOString() });
  });

  it('a final backup keeps its status as it is', () => {
    const done = backupStatus(backup(), { kind: 'succeed', result }, t1);
    expect(backupStatus(backup(done), { kind: 'none' }, new Date('2027-01-01T00:00:00Z'))).toBe(done);
  });
});
