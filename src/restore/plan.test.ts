import { describe, expect, it } from 'vitest';
import { type RestoreObservation, type RestorePodView, type RestoreStep, planRestore, versionProblem } from './plan.js';
import { sourceFromBackup, sourceFromObject } from './source.js';
import type { EtcdBackup } from '../api/backup-types.generated.js';

const destination = { endpoint: 'https://s3.local', bucket: 'b', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' } };
const ready = { state: 'ready' as const, source: { description: 'EtcdBackup nightly', etcdVersion: '3.6.16', fetch: { destination, key: 'k.db', sha256: 'a'.repeat(64) } } };
const claims = (...ordinals: number[]) => ordinals.map((ordinal) => ({ ordinal, ours: true }));
const pod = (ordinal: number, phase: RestorePodView['phase'], failure?: string): RestorePodView => ({ ordinal, name: `x-restore-${ordinal}`, phase, failure });
const pods = (phase: RestorePodView['phase'], ...ordinals: number[]) => ordinals.map((o) => pod(o, phase));
const transient = (ordinal: number, failedAtMs: number): RestorePodView => ({ ...pod(ordinal, 'Failed', 'step fetch exited 75: Error: connect ECONNREFUSED'), transient: true, failedAtMs });

const base: RestoreObservation = { requested: true, replicas: 3, targetVersion: '3.6.16', formed: false, statefulSetExists: false, paused: false, source: ready, claims: [], pods: [], nowMs: 1_000_000 };

const cases: [string, Partial<RestoreObservation>, RestoreStep | { kind: string }][] = [
  ['no spec.restore: nothing to do', { requested: false }, { kind: 'inactive' }],
  ['a new cluster: the volumes first', {}, { kind: 'createClaims', ordinals: [0, 1, 2] }],
  ['only the missing volumes', { claims: claims(0) }, { kind: 'createClaims', ordinals: [1, 2] }],
  ['volumes made: one restore pod per member, all at once', { claims: claims(0, 1, 2) }, { kind: 'createPods', ordinals: [0, 1, 2], retries: [0, 0, 0], reset: [] }],
  ['only the missing pods (the operator died half-way)', { claims: claims(0, 1, 2), pods: pods('Running', 0) }, { kind: 'createPods', ordinals: [1, 2], retries: [0, 0], reset: [] }],
  ['pods running: wait, with counts', { claims: claims(0, 1, 2), pods: [...pods('Succeeded', 0), ...pods('Running', 1, 2)] }, { kind: 'wait', message: 'restoring EtcdBackup nightly onto 3 member volumes: 1/3 done' }],
  ['every pod succeeded: done, bootstrap takes over', { claims: claims(0, 1, 2), pods: pods('Succeeded', 0, 1, 2) }, { kind: 'done' }],
  ['done even if the backup is gone meanwhile', { claims: claims(0, 1, 2), pods: pods('Succeeded', 0, 1, 2), source: { state: 'invalid', message: 'gone' } }, { kind: 'done' }],
  ['the StatefulSet exists: the restore is over, its pods go', { statefulSetExists: true, pods: pods('Succeeded', 1, 0, 2) }, { kind: 'deletePods', names: ['x-restore-0', 'x-restore-1', 'x-restore-2'] }],
  ['the StatefulSet exists and no pod is left: inactive', { statefulSetExists: true }, { kind: 'inactive' }],
  ['a formed cluster never restores again, even without a StatefulSet', { formed: true }, { kind: 'inactive' }],
  ['a failed pod stops the restore with its reason', { claims: claims(0, 1, 2), pods: [pod(0, 'Succeeded'), pod(1, 'Failed', 'step fetch exited 1: SnapshotCorrupt: ...'), pod(2, 'Running')] }, { kind: 'fail' }],
  ['a missing EtcdBackup: refused before anything is made', { source: { state: 'invalid', message: 'spec.restore.backupName names EtcdBackup b, which does not exist' } }, { kind: 'fail' }],
  ['a backup still running: wait', { source: { state: 'waiting', message: 'waiting for EtcdBackup b to succeed (phase Running)' } }, { kind: 'wait', message: 'waiting for EtcdBackup b to succeed (phase Running)' }],
  ['a snapshot newer than spec.version: refused before anything is made', { targetVersion: '3.5.35' }, { kind: 'fail' }],
  ['an older minor is fine (etcd upgrades the data)', { targetVersion: '3.6.16', source: { ...ready, source: { ...ready.source, etcdVersion: '3.5.35' } } }, { kind: 'createClaims', ordinals: [0, 1, 2] }],
  ['a volume that is not ours: refused, never written over', { claims: [{ ordinal: 0, ours: false }, ...claims(1)] }, { kind: 'fail' }],
  ['a foreign volume beyond the replicas is not in the way', { replicas: 1, claims: [{ ordinal: 2, ours: false }] }, { kind: 'createClaims', ordinals: [0] }],
  ['paused: nothing is made', { paused: true }, { kind: 'wait', message: 'spec.paused is true: the restore waits (0/3 members restored)' }],
  // Transient failures (the object store unreachable, 5xx: exit 75 of fetch) are retried, verdicts never.
  ['a transient failure: wait out the pause', { claims: claims(0, 1, 2), pods: [pod(0, 'Succeeded'), transient(1, 995_000)] }, { kind: 'wait', message: 'restore pod x-restore-1 failed, which may clear by itself: step fetch exited 75: Error: connect ECONNREFUSED; running it again in 5 s (retry 1 of 4)' }],
  ['a transient failure, pause over: record the retry, delete the pod', { claims: claims(0, 1, 2), pods: [pod(0, 'Succeeded'), transient(1, 990_000)] }, { kind: 'retryPods', pods: [{ ordinal: 1, name: 'x-restore-1', retries: 1, failure: 'step fetch exited 75: Error: connect ECONNREFUSED' }] }],
  ['the pause doubles with each retry', { claims: [...claims(0, 2), { ordinal: 1, ours: true, retries: 2 }], pods: [transient(1, 970_000)] }, { kind: 'wait', message: 'restore pod x-restore-1 failed, which may clear by itself: step fetch exited 75: Error: connect ECONNREFUSED; running it again in 10 s (retry 3 of 4)' }],
  ['retries used up: the restore stops', { claims: [...claims(0, 2), { ordinal: 1, ours: true, retries: 4 }], pods: [transient(1, 0)] }, { kind: 'fail' }],
  ['the pod counts its own retries (the claim only across the gap)', { claims: claims(0, 1, 2), pods: [{ ...transient(1, 0), retries: 4 }] }, { kind: 'fail' }],
  ['a pod of an older operator, without its count: the claim\'s', { claims: [...claims(0, 2), { ordinal: 1, ours: true, retries: 3 }], pods: [transient(1, 0)] }, { kind: 'retryPods', pods: [{ ordinal: 1, name: 'x-restore-1', retries: 4, failure: 'step fetch exited 75: Error: connect ECONNREFUSED' }] }],
  ['the operator deleted the pod to retry it: the next is that retry', { claims: [...claims(0, 2), { ordinal: 1, ours: true, retries: 2, retryPending: true }], pods: pods('Running', 0, 2) }, { kind: 'createPods', ordinals: [1], retries: [2], reset: [] }],
  // The user deleted the failed pod after the retries ran out: a fresh count, said in an event.
  ['a user deleted the failed pod: the count starts again', { claims: [...claims(0, 2), { ordinal: 1, ours: true, retries: 4 }], pods: pods('Running', 0, 2) }, { kind: 'createPods', ordinals: [1], retries: [0], reset: [1] }],
  // A pod that cannot start (its credentials Secret deleted) is no verdict: wait, and say why.
  ['pods that cannot start: blocked, the shared reason once', { claims: claims(0, 1, 2), pods: [pod(0, 'Succeeded'), ...[1, 2].map((o) => ({ ...pod(o, 'Pending'), blocked: 'step fetch waits with CreateContainerConfigError: secret "s3" not found' }))] }, { kind: 'blocked', message: 'restore pods x-restore-1, x-restore-2 cannot start: step fetch waits with CreateContainerConfigError: secret "s3" not found. Nothing was started; the restore goes on by itself once that is fixed' }],
  ['a blocked pod beside a missing one: the missing pod is made first', { claims: claims(0, 1, 2), pods: [{ ...pod(0, 'Pending'), blocked: 'x' }] }, { kind: 'createPods', ordinals: [1, 2], retries: [0, 0], reset: [] }],
  ['every pod made, the EtcdBackup deleted meanwhile: the pods go on, no false stop', { claims: claims(0, 1, 2), pods: [...pods('Succeeded', 0), ...pods('Running', 1, 2)], source: { state: 'invalid', message: 'spec.restore.backupName names EtcdBackup b, which does not exist' } }, { kind: 'wait', message: 'restoring the snapshot onto 3 member volumes: 1/3 done' }],
  ['a pod still to make and the EtcdBackup gone: refused', { claims: claims(0, 1, 2), pods: pods('Running', 0, 1), source: { state: 'invalid', message: 'gone' } }, { kind: 'fail' }],
  ['a verdict beside a blocked pod: the restore stops', { claims: claims(0, 1, 2), pods: [{ ...pod(0, 'Pending'), blocked: 'x' }, pod(1, 'Failed', 'step fetch exited 1: SnapshotNotFound: x'), pod(2, 'Running')] }, { kind: 'fail' }],
  ['a verdict beside a transient failure: the restore stops', { claims: claims(0, 1, 2), pods: [transient(0, 0), pod(1, 'Failed', 'step fetch exited 1: SnapshotCorrupt: x')] }, { kind: 'fail' }],
];

describe('planRestore', () => {
  it.each(cases)('%s', (_title, change, want) => {
    const step = planRestore({ ...base, ...change });
    if (want.kind === 'fail') expect(step.kind).toBe('fail');
    else expect(step).toEqual(want);
  });

  it('says why it refused, and that nothing started', () => {
    const message = (o: Partial<RestoreObservation>) => (planRestore({ ...base, ...o }) as { message: string }).message;
    expect(message({ targetVersion: '3.5.35' })).toContain('etcd 3.6.16, newer than spec.version 3.5.35');
    const failed = message({ claims: claims(0, 1, 2), pods: [pod(0, 'Failed', 'step fetch exited 1: SnapshotCorrupt: x')] });
    expect(failed).toContain('restore pod x-restore-0 failed: step fetch exited 1: SnapshotCorrupt: x');
    expect(failed).toContain('Nothing was started');
    const same = message({ claims: claims(0, 1, 2), pods: [pod(1, 'Failed', 'step fetch exited 1: SnapshotNotFound: k'), pod(0, 'Failed', 'step fetch exited 1: SnapshotNotFound: k')] });
    expect(same).toMatch(/^restore pods x-restore-0, x-restore-1 failed: step fetch exited 1: SnapshotNotFound: k\. Nothing/);
    const exhausted = message({ claims: [{ ordinal: 0, ours: true, retries: 4 }], pods: [transient(0, 0)] });
    expect(exhausted).toContain('restore pod x-restore-0 failed: step fetch exited 75: Error: connect ECONNREFUSED (run 5 times)');
  });
});

describe('versionProblem', () => {
  it.each([
    ['3.6.16', '3.5.35', true],
    ['3.6.0', '3.6.16', false],
    ['3.6.20', '3.6.16', false],
    ['3.5.35', '3.6.16', false],
    [undefined, '3.5.35', false],
  ] as const)('snapshot %s into %s: refused %s', (snapshot, target, refused) => {
    expect(versionProblem(snapshot, target) !== undefined).toBe(refused);
  });
});

describe('sources', () => {
  const backup = (status: EtcdBackup['status']): EtcdBackup => ({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'b' }, spec: { clusterName: 'x', destination, compression: 'none' }, status });
  it('an EtcdBackup that succeeded gives its key, digests and version', () => {
    const r = sourceFromBackup('b', 'ns', backup({ phase: 'Succeeded', key: 'e2e/ns/x/b.db', sha256: 'a'.repeat(64), snapshotSha256: 'b'.repeat(64), etcdVersion: '3.6.16', revision: 42, compression: 'none' }));
    expect(r).toMatchObject({ state: 'ready', source: { etcdVersion: '3.6.16', fetch: { key: 'e2e/ns/x/b.db', sha256: 'a'.repeat(64), snapshotSha256: 'b'.repeat(64), compression: 'none' } } });
  });
  it('a missing, failed or unfinished backup', () => {
    expect(sourceFromBackup('b', 'ns', undefined)).toEqual({ state: 'invalid', message: 'spec.restore.backupName names EtcdBackup b, which does not exist in namespace ns' });
    expect(sourceFromBackup('b', 'ns', backup({ phase: 'Failed' }))).toMatchObject({ state: 'invalid' });
    expect(sourceFromBackup('b', 'ns', backup({ phase: 'Running' }))).toMatchObject({ state: 'waiting' });
  });
  it('destination and key: ready, checked by the fetch step', () => {
    expect(sourceFromObject(destination, 'k.db', undefined)).toMatchObject({ state: 'ready', source: { description: 'b/k.db', fetch: { key: 'k.db' } } });
  });
  it('destination and key without a sha256: the digests an EtcdBackup recorded for that very object', () => {
    const recorded = backup({ phase: 'Succeeded', key: 'k.db', sha256: 'a'.repeat(64), snapshotSha256: 'b'.repeat(64), etcdVersion: '3.6.16', compression: 'gzip' });
    expect(sourceFromObject(destination, 'k.db', undefined, [recorded])).toMatchObject({ state: 'ready', source: { etcdVersion: '3.6.16', fetch: { key: 'k.db', sha256: 'a'.repeat(64), snapshotSha256: 'b'.repeat(64), compression: 'gzip' } } });
    // The user's own sha256 wins; another key, bucket or endpoint, or a backup not Succeeded, lends nothing.
    expect(sourceFromObject(destination, 'k.db', 'c'.repeat(64), [recorded])).toMatchObject({ source: { description: 'b/k.db', fetch: { sha256: 'c'.repeat(64) } } });
    for (const other of [sourceFromObject(destination, 'other.db', undefined, [recorded]), sourceFromObject({ ...destination, bucket: 'b2' }, 'k.db', undefined, [recorded]), sourceFromObject({ ...destination, endpoint: 'https://elsewhere' }, 'k.db', undefined, [recorded]), sourceFromObject(destination, 'k.db', undefined, [backup({ phase: 'Running', key: 'k.db', sha256: 'a'.repeat(64) })])]) {
      expect(other.state === 'ready' ? other.source.fetch.sha256 : 'not ready').toBeUndefined();
    }
  });
});
