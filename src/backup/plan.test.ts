import { describe, expect, it } from 'vitest';
import { type BackupObservation, type BackupResult, type BackupStep, maxAttempts, planBackup, retryDelayMs } from './plan.js';
import type { BackupFailure } from './reasons.js';

const result: BackupResult = {
  member: 'db-1', revision: 42, clusterID: 'abc', clusterUID: 'uid-a', etcdVersion: '3.6.16', snapshotSizeBytes: 100, snapshotSha256: 'aa', sizeBytes: 100, sha256: 'aa', bucket: 'b', key: 'k', durationMs: 5,
};
const transient: BackupFailure = { reason: 'EndpointUnreachable', message: 'connect ECONNREFUSED', retryable: true };
const badInput: BackupFailure = { reason: 'CredentialsRejected', message: 'InvalidAccessKeyId', retryable: false };

const fresh: BackupObservation = { phase: undefined, attempts: 0, attempt: undefined, cluster: 'ready', clusterUID: 'uid-a', begunOn: undefined, quorum: 'ok', busyWith: undefined, nowMs: 100_000 };
const o = (over: Partial<BackupObservation>): BackupObservation => ({ ...fresh, ...over });

type Case = [string, BackupObservation, BackupStep['kind'], Record<string, unknown>?];

const cases: Case[] = [
  // Final phases stay final, whatever else is seen.
  ['succeeded is final', o({ phase: 'Succeeded', quorum: 'lost', cluster: 'missing' }), 'none'],
  ['failed is final, even with a finished attempt', o({ phase: 'Failed', attempt: { state: 'succeeded', result, atMs: 90_000 } }), 'none'],
  // A new backup.
  ['a new backup of a healthy cluster starts attempt 1, of this cluster object', fresh, 'start', { attempt: 1, clusterUID: 'uid-a' }],
  ['pending with quorum starts', o({ phase: 'Pending' }), 'start', { attempt: 1 }],
  ['no such cluster: wait for it', o({ cluster: 'missing', clusterUID: undefined, quorum: 'unknown' }), 'wait', { reason: 'ClusterNotFound' }],
  ['the cluster deleted after an attempt began (operator away): fails, not Running for ever', o({ phase: 'Running', attempts: 1, cluster: 'missing', quorum: 'unknown' }), 'fail', { failure: expect.objectContaining({ reason: 'ClusterNotFound', retryable: false }) }],
  ['the cluster deleted during a failed attempt\'s pause: fails once the pause is over', o({ phase: 'Running', attempts: 1, attempt: { state: 'failed', failure: { reason: 'SnapshotFailed', message: 'x', retryable: true }, atMs: 0 }, cluster: 'missing', quorum: 'unknown' }), 'fail', { failure: expect.objectContaining({ reason: 'ClusterNotFound' }) }],
  ['cluster without members yet: wait', o({ cluster: 'forming', quorum: 'unknown' }), 'wait', { reason: 'ClusterNotReady' }],
  ['no member answered: wait, do not fail', o({ quorum: 'unknown' }), 'wait', { reason: 'ClusterNotReady' }],
  ['quorum lost: refused with a reason', o({ quorum: 'lost' }), 'fail', { failure: expect.objectContaining({ reason: 'QuorumLost', retryable: false }) }],
  ['another backup of the cluster runs: wait', o({ busyWith: 'db-nightly' }), 'wait', { reason: 'AnotherBackupRunning' }],
  ['a majority answers without a leader (an election): wait, do not fail', o({ quorum: 'electing' }), 'wait', { reason: 'ClusterNotReady' }],
  ['quorum lost outranks another backup running', o({ busyWith: 'db-nightly', quorum: 'lost' }), 'fail'],
  // An attempt in this process.
  ['attempt running: wait for it', o({ phase: 'Running', attempts: 1, attempt: { state: 'running' } }), 'wait', { reason: 'Uploading' }],
  ['attempt running while quorum flickers: keep waiting', o({ phase: 'Running', attempts: 1, attempt: { state: 'running' }, quorum: 'lost' }), 'wait'],
  ['attempt succeeded: record it', o({ phase: 'Running', attempts: 1, attempt: { state: 'succeeded', result, atMs: 90_000 } }), 'succeed', { result }],
  ['attempt succeeded although the cluster is gone now: record it', o({ phase: 'Running', attempts: 1, attempt: { state: 'succeeded', result, atMs: 90_000 }, cluster: 'missing' }), 'succeed'],
  ['bad input fails at once', o({ phase: 'Running', attempts: 1, attempt: { state: 'failed', failure: badInput, atMs: 99_000 } }), 'fail', { failure: badInput }],
  ['transient failure just now, attempts left: wait out the pause', o({ phase: 'Running', attempts: 1, attempt: { state: 'failed', failure: transient, atMs: 100_000 } }), 'retry', { afterMs: retryDelayMs(1) }],
  ['transient failure, pause over: next attempt', o({ phase: 'Running', attempts: 1, attempt: { state: 'failed', failure: transient, atMs: 100_000 - retryDelayMs(1) } }), 'start', { attempt: 2 }],
  ['transient failure, pause over, quorum lost meanwhile: fail', o({ phase: 'Running', attempts: 1, quorum: 'lost', attempt: { state: 'failed', failure: transient, atMs: 0 } }), 'fail', { failure: expect.objectContaining({ reason: 'QuorumLost' }) }],
  ['transient failure, pause over, another backup took the cluster: wait', o({ phase: 'Running', attempts: 1, busyWith: 'other', attempt: { state: 'failed', failure: transient, atMs: 0 } }), 'wait', { reason: 'AnotherBackupRunning' }],
  ['transient failure on the last attempt: fail', o({ phase: 'Running', attempts: maxAttempts, attempt: { state: 'failed', failure: transient, atMs: 0 } }), 'fail', { failure: { ...transient, message: `${transient.message} (gave up after ${maxAttempts} attempts)` } }],
  // The cluster object the backup began on is gone (deleted, or deleted and made again).
  ['the cluster deleted while the attempt runs: the attempt is stopped and the backup fails', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'running' }, cluster: 'missing', clusterUID: undefined, quorum: 'unknown' }), 'fail', { stopAttempt: true, failure: expect.objectContaining({ reason: 'ClusterNotFound', retryable: false, message: expect.stringContaining('the attempt was stopped') as string }) }],
  ['the cluster replaced while the attempt runs: stopped, fails as replaced', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'running' }, cluster: 'forming', clusterUID: 'uid-b' }), 'fail', { stopAttempt: true, failure: expect.objectContaining({ reason: 'ClusterReplaced', retryable: false }) }],
  ['the cluster replaced during a failed attempt\'s pause: fails, never retried against the new one', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'failed', failure: transient, atMs: 0 }, clusterUID: 'uid-b' }), 'fail', { failure: expect.objectContaining({ reason: 'ClusterReplaced' }) }],
  ['the cluster replaced while the operator was away (status recorded the UID): fails, no attempt against the new one', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', clusterUID: 'uid-b' }), 'fail', { failure: expect.objectContaining({ reason: 'ClusterReplaced' }) }],
  ['an attempt that succeeded before its cluster was replaced is recorded (it is of the old one, by UID)', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'succeeded', result, atMs: 0 }, clusterUID: 'uid-b' }), 'succeed', { result }],
  ['a final failure of the attempt keeps its own reason when the cluster went too', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'failed', failure: badInput, atMs: 0 }, cluster: 'missing', clusterUID: undefined }), 'fail', { failure: badInput }],
  ['the same cluster object: the attempt runs on', o({ phase: 'Running', attempts: 1, begunOn: 'uid-a', attempt: { state: 'running' } }), 'wait', { reason: 'Uploading' }],
  ['a backup begun before UIDs were recorded, its cluster there: as before, start again', o({ phase: 'Running', attempts: 1, begunOn: undefined }), 'start', { attempt: 2 }],
  // Running in status, but no attempt in this process: the process that ran it is gone.
  ['running without an attempt here: start again', o({ phase: 'Running', attempts: 1 }), 'start', { attempt: 2 }],
  ['running without an attempt, quorum lost now: fail', o({ phase: 'Running', attempts: 1, quorum: 'lost' }), 'fail'],
  ['running without an attempt, attempts used up: fail as interrupted', o({ phase: 'Running', attempts: maxAttempts }), 'fail', { failure: expect.objectContaining({ reason: 'Interrupted' }) }],
];

describe('planBackup', () => {
  it.each(cases)('%s', (_name, observation, kind, fields) => {
    const step = planBackup(observation);
    expect(step.kind).toBe(kind);
    if (fields) expect(step).toMatchObject(fields);
  });

  it('is pure: the same observation gives the same step and is not changed', () => {
    const observation = o({ phase: 'Running', attempts: 1, attempt: { state: 'failed', failure: transient, atMs: 99_000 } });
    const copy = structuredClone(observation);
    expect(planBackup(observation)).toEqual(planBackup(observation));
    expect(observation).toEqual(copy);
  });

  it('waits longer before each retry', () => {
    expect(retryDelayMs(2)).toBeGreaterThan(retryDelayMs(1));
  });
});
