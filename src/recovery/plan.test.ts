import { describe, expect, it } from 'vitest';
import type { EtcdClusterRecoveryRecord } from '../api/types.generated.js';
import type { RestorePodView } from '../restore/plan.js';
import { type RecoveryObservation, type RecoveryStep, consentKey, holdsPass, planRecovery } from './plan.js';

const uid = '0b6e1d2c-1111-4222-8333-444455556666';
const consent = { clusterUID: uid, fromSurvivor: {} };
const s2 = { ordinal: 2, name: 'c-2', memberId: '4096', appliedIndex: 120n, revision: 80n };
const s0 = { ordinal: 0, name: 'c-0', memberId: '256', appliedIndex: 100n, revision: 70n };
const now = '2026-11-30T12:00:00.000Z';

const lost: RecoveryObservation = {
  uid, consent, record: undefined, formed: true, quorumHealthy: false, electing: false, survivors: [s2, s0], persistentStorage: true, referenceRevision: 90n,
  statefulSetExists: true, memberPods: [0, 1, 2].map((ordinal) => ({ ordinal, terminating: false })), claims: [0, 1, 2],
  forcePod: undefined, forcedAnswered: false, membershipIsSurvivorOnly: false, survivorHealthy: false, now,
  replicas: 3, targetVersion: '3.6.16', backup: undefined, claimsPresent: 3, restorePods: [], restoreClaims: [], quorumAnswers: false,
};
const started: EtcdClusterRecoveryRecord = { consent, phase: 'Stopping', member: 'c-2', memberID: '1000', revision: 80, lostRevisions: 10, startedAt: now };
/** Stopping, with everything stopped and deleted that must be. */
const stopped: Partial<RecoveryObservation> = { record: started, statefulSetExists: false, memberPods: [], claims: [2], survivors: [], membershipIsSurvivorOnly: true };
const rejoining = { ...started, phase: 'Rejoining' as const };

const cases: [string, Partial<RecoveryObservation>, RecoveryStep | { kind: string; [k: string]: unknown }][] = [
  ['no consent, no record: nothing', { consent: undefined }, { kind: 'none' }],
  ['another cluster\'s UID: refused, nothing recorded', { consent: { ...consent, clusterUID: 'ffffffff-1111-4222-8333-444455556666' } }, { kind: 'refuse' }],
  ['consent while the quorum is healthy: ignored for good', { quorumHealthy: true }, { kind: 'ignore' }],
  ['consent while members that answer elect a leader: neither acts nor is spent', { electing: true }, { kind: 'none' }],
  ['a cluster that never formed has nothing to recover', { formed: false }, { kind: 'refuse' }],
  ['from the most advanced survivor: begins, recording what is lost', {}, { kind: 'begin', record: { consent, phase: 'Stopping', member: 'c-2', memberID: '1000', revision: 80, lostRevisions: 10, startedAt: now } }],
  ['a named survivor, even a less advanced one', { consent: { clusterUID: uid, fromSurvivor: { member: 'c-0' } } }, { kind: 'begin' }],
  ['a named survivor that does not answer: refused', { consent: { clusterUID: uid, fromSurvivor: { member: 'c-1' } } }, { kind: 'refuse' }],
  ['no member answers: refused (nothing to recover from)', { survivors: [] }, { kind: 'refuse' }],
  ['emptyDir storage: refused', { persistentStorage: false }, { kind: 'refuse' }],
  ['the same consent, spent: nothing, even at a later loss', { record: { ...rejoining, phase: 'Succeeded' } }, { kind: 'none' }],
  ['an ignored consent stays ignored when the quorum is later lost', { record: { consent, phase: 'Ignored' } }, { kind: 'none' }],
  ['consent removed: the record forgets it', { consent: undefined, record: { consent, phase: 'Succeeded' } }, { kind: 'forget' }],
  ['a different consent after a spent one is considered', { consent: { clusterUID: uid, fromSurvivor: { member: 'c-0' } }, record: { consent, phase: 'Succeeded' } }, { kind: 'begin' }],
  // Under way: the record leads, whatever spec.recovery says now.
  ['stopping: the StatefulSet goes first (pods and volumes kept)', { record: started }, { kind: 'deleteStatefulSet' }],
  ['stopping: then every member pod, the survivor\'s included', { record: started, statefulSetExists: false }, { kind: 'deletePods', ordinals: [0, 1, 2] }],
  ['stopping goes on with the consent withdrawn', { record: started, consent: undefined, statefulSetExists: false }, { kind: 'deletePods', ordinals: [0, 1, 2] }],
  ['stopping: waits until no member pod is left', { record: started, statefulSetExists: false, memberPods: [{ ordinal: 2, terminating: true }] }, { kind: 'wait' }],
  ['stopping: the lost members\' volumes go, never the survivor\'s', { record: started, statefulSetExists: false, memberPods: [] }, { kind: 'deleteClaims', ordinals: [0, 1] }],
  ['the survivor\'s volume gone: stop, a person decides', { ...stopped, claims: [] }, { kind: 'fail' }],
  ['the membership announces the survivor alone', { ...stopped, membershipIsSurvivorOnly: false }, { kind: 'writeMembership', ordinal: 2, memberId: '4096' }],
  ['then the one --force-new-cluster run', stopped, { kind: 'createForcePod', ordinal: 2 }],
  ['waits for it to answer', { ...stopped, forcePod: { phase: 'Running', terminating: false } }, { kind: 'wait' }],
  ['it answered: recorded before anything else', { ...stopped, forcePod: { phase: 'Running', terminating: false }, forcedAnswered: true }, { kind: 'recordForced' }],
  ['it failed before answering: kept, a person decides', { ...stopped, forcePod: { phase: 'Failed', terminating: false, failure: 'etcd exited 1' } }, { kind: 'fail' }],
  ['rejoining: the force pod is deleted, never created again', { ...stopped, record: rejoining, forcePod: { phase: 'Running', terminating: false } }, { kind: 'deleteForcePod' }],
  ['rejoining: waits while it stops', { ...stopped, record: rejoining, forcePod: { phase: 'Running', terminating: true } }, { kind: 'wait' }],
  ['rejoining: a failed force pod is deleted too, not retried', { ...stopped, record: rejoining, forcePod: { phase: 'Failed', terminating: false } }, { kind: 'deleteForcePod' }],
  ['rejoining: the StatefulSet comes back up to the survivor\'s ordinal', { ...stopped, record: rejoining }, { kind: 'createStatefulSet', replicas: 3 }],
  ['rejoining: waits for the survivor to answer', { ...stopped, record: rejoining, statefulSetExists: true }, { kind: 'wait' }],
  ['rejoining: the survivor answers healthy: Succeeded', { ...stopped, record: rejoining, statefulSetExists: true, survivorHealthy: true }, { kind: 'complete' }],
];

const destination = { endpoint: 'https://s3.local', bucket: 'b', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 's3' } };
const readyBackup = { resolution: { state: 'ready' as const, source: { description: 'EtcdBackup nightly', etcdVersion: '3.6.16', fetch: { destination, key: 'k.db' } } }, revision: 60n, ofThisCluster: true };
const fromBackup = { clusterUID: uid, fromBackup: { backupName: 'nightly' } };
const byBackup = (phase: EtcdClusterRecoveryRecord['phase']): EtcdClusterRecoveryRecord => ({ consent: fromBackup, phase, revision: 60, lostRevisions: 30, startedAt: now });
const restorePods = (phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed', ...ordinals: number[]) => ordinals.map((ordinal) => ({ ordinal, name: `c-restore-${ordinal}`, phase }));
const emptied: Partial<RecoveryObservation> = { statefulSetExists: false, memberPods: [], claims: [], claimsPresent: 0, backup: readyBackup };
const restoring: Partial<RecoveryObservation> = { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, now: new Date(1_000_000).toISOString() };
const transientPod = (ordinal: number, failedAtMs: number): RestorePodView => ({ ordinal, name: `c-restore-${ordinal}`, phase: 'Failed', failure: 'step fetch exited 75: Error: connect ECONNREFUSED', transient: true, failedAtMs });

const backupCases: [string, Partial<RecoveryObservation>, RecoveryStep | { kind: string; [k: string]: unknown }][] = [
  ['from a backup: begins, recording what is lost', { consent: fromBackup, backup: readyBackup }, { kind: 'begin', record: { phase: 'Stopping', revision: 60, lostRevisions: 30 } }],
  ['a backup that does not exist: refused', { consent: fromBackup, backup: { resolution: { state: 'invalid', message: 'no such backup' }, revision: undefined, ofThisCluster: false } }, { kind: 'refuse' }],
  ['a backup of another cluster: refused', { consent: fromBackup, backup: { ...readyBackup, ofThisCluster: false } }, { kind: 'refuse' }],
  ['a backup newer than spec.version: refused', { consent: fromBackup, backup: readyBackup, targetVersion: '3.5.35' }, { kind: 'refuse' }],
  ['stopping: the StatefulSet, the pods, then every volume', { record: byBackup('Stopping'), statefulSetExists: false, memberPods: [] }, { kind: 'deleteClaims', ordinals: [0, 1, 2] }],
  ['stopping: waits for the claims to be gone', { ...emptied, record: byBackup('Stopping'), claimsPresent: 2 }, { kind: 'wait' }],
  ['stopping: all gone, Restoring recorded', { ...emptied, record: byBackup('Stopping') }, { kind: 'recordPhase', record: { phase: 'Restoring' } }],
  ['restoring: new claims', { ...emptied, record: byBackup('Restoring') }, { kind: 'createRestoreClaims', ordinals: [0, 1, 2] }],
  ['restoring: one restore pod per member', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3 }, { kind: 'createRestorePods', ordinals: [0, 1, 2], retries: [0, 0, 0], reset: [] }],
  ['restoring: a failed restore pod stops it', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, restorePods: [...restorePods('Failed', 0), ...restorePods('Running', 1, 2)] }, { kind: 'fail' }],
  // The object store down for a while: retried as spec.restore retries (src/restore/retries.ts).
  ['restoring: a transient fetch failure waits out its pause', { ...restoring, restorePods: [transientPod(0, 995_000), ...restorePods('Running', 1, 2)] }, { kind: 'wait', message: 'restore pod c-restore-0 failed, which may clear by itself: step fetch exited 75: Error: connect ECONNREFUSED; running it again in 5 s (retry 1 of 4)' }],
  ['restoring: pause over, the retry is counted and the pod deleted', { ...restoring, restorePods: [transientPod(0, 990_000), ...restorePods('Running', 1, 2)] }, { kind: 'retryRestorePods', pods: [{ ordinal: 0, name: 'c-restore-0', retries: 1, failure: 'step fetch exited 75: Error: connect ECONNREFUSED' }] }],
  ['restoring: retries used up: the recovery stops', { ...restoring, restorePods: [{ ...transientPod(0, 0), retries: 4 }, ...restorePods('Running', 1, 2)] }, { kind: 'fail' }],
  ['restoring: a retried pod is made again as that retry', { ...restoring, restoreClaims: [{ ordinal: 0, ours: true, retries: 2, retryPending: true }], restorePods: restorePods('Running', 1, 2) }, { kind: 'createRestorePods', ordinals: [0], retries: [2], reset: [] }],
  ['restoring: a user deleted the failed pod: the count starts again', { ...restoring, restoreClaims: [{ ordinal: 0, ours: true, retries: 4 }], restorePods: restorePods('Running', 1, 2) }, { kind: 'createRestorePods', ordinals: [0], retries: [0], reset: [0] }],
  ['restoring: a verdict beside a transient failure: stops at once', { ...restoring, restorePods: [transientPod(0, 990_000), { ...restorePods('Failed', 1)[0]!, failure: 'step fetch exited 1: SnapshotCorrupt' }] }, { kind: 'fail' }],
  ['restoring: a restore pod that cannot start (its Secret gone): blocked, says why', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, restorePods: [...restorePods('Succeeded', 0, 1), ...restorePods('Pending', 2).map((p) => ({ ...p, blocked: 'step fetch waits with CreateContainerConfigError' }))] }, { kind: 'blocked' }],
  ['restoring: the EtcdBackup deleted once every restore pod runs: no stop, and Rejoining once done', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, backup: undefined, restorePods: restorePods('Succeeded', 0, 1, 2) }, { kind: 'recordPhase', record: { phase: 'Rejoining' } }],
  ['restoring: the EtcdBackup gone before a restore pod was made: stops', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, backup: undefined, restorePods: restorePods('Running', 0, 1) }, { kind: 'fail' }],
  ['restoring: all done, Rejoining recorded', { ...emptied, record: byBackup('Restoring'), claims: [0, 1, 2], claimsPresent: 3, restorePods: restorePods('Succeeded', 0, 1, 2) }, { kind: 'recordPhase', record: { phase: 'Rejoining' } }],
  ['rejoining: the StatefulSet at spec.replicas', { ...emptied, record: byBackup('Rejoining'), claims: [0, 1, 2], restorePods: restorePods('Succeeded', 0, 1, 2) }, { kind: 'createStatefulSet', replicas: 3 }],
  ['rejoining: then the restore pods go', { ...emptied, record: byBackup('Rejoining'), statefulSetExists: true, restorePods: restorePods('Succeeded', 0, 1, 2) }, { kind: 'deleteRestorePods' }],
  ['rejoining: a quorum answers: Succeeded', { ...emptied, record: byBackup('Rejoining'), statefulSetExists: true, quorumAnswers: true }, { kind: 'complete' }],
];

describe('planRecovery from a backup', () => {
  it.each(backupCases)('%s', (_title, change, want) => {
    const step = planRecovery({ ...lost, ...change });
    if (Object.keys(want).length === 1) expect(step.kind).toBe(want.kind);
    else expect(step).toMatchObject(want);
  });
});

describe('planRecovery', () => {
  it.each(cases)('%s', (_title, change, want) => {
    const step = planRecovery({ ...lost, ...change });
    if (Object.keys(want).length === 1) expect(step.kind).toBe(want.kind);
    else expect(step).toMatchObject(want);
  });

  it('a step after which the force pod was made is never followed by another force pod once recorded', () => {
    // Every observation in the Rejoining phase, whatever the pod's state, plans no createForcePod.
    for (const forcePod of [undefined, { phase: 'Running' as const, terminating: false }, { phase: 'Failed' as const, terminating: false }]) {
      for (const statefulSetExists of [false, true]) {
        expect(planRecovery({ ...lost, ...stopped, record: rejoining, forcePod, statefulSetExists }).kind).not.toBe('createForcePod');
      }
    }
  });

  it('holds the pass only while a recovery runs', () => {
    expect(['none', 'refuse', 'forget', 'ignore'].map((kind) => holdsPass({ kind } as RecoveryStep))).toEqual([false, false, false, false]);
    expect(holdsPass({ kind: 'deleteStatefulSet' })).toBe(true);
  });

  it('a consent is identified by what it says', () => {
    expect(consentKey({ clusterUID: uid, fromSurvivor: {} })).toBe(consentKey({ fromSurvivor: {}, clusterUID: uid }));
    expect(consentKey({ clusterUID: uid, fromSurvivor: {} })).not.toBe(consentKey({ clusterUID: uid, fromSurvivor: { member: 'c-2' } }));
  });
});
