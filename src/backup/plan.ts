/**
 * The backup planner: from what one pass observed, the single next step. Pure, so the table in
 * plan.test.ts covers every case. In words:
 *   1. Succeeded and Failed are final: nothing to do, ever.
 *   2. An attempt in this process that finished decides: record success, or a failure that is
 *      final (bad input, or attempts used up) or retried after a pause (then as from step 5).
 *   3. An attempt still running: wait for it.
 *   4. No attempt here although status says Running: the process that ran it is gone (restart,
 *      leadership moved); its multipart upload was never completed, so start again (a new attempt).
 *   5. Before starting: the cluster must exist and have formed; with quorum lost a snapshot could
 *      not be consistent and a user must know, so the backup fails with QuorumLost. A backup not
 *      begun waits for a missing cluster (it may be created next); one that began fails: its
 *      cluster was deleted (or replaced by another of the name, which it never asked about), and
 *      waiting would leave it Running for ever.
 *   6. One backup at a time per cluster: wait while another of the same cluster runs.
 */
import { type BackupFailure, backupReasons } from './reasons.js';

export const maxAttempts = 3;

export type BackupPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** What an attempt produced, once it finished well. */
export interface BackupResult {
  member: string;
  /** The snapshot's own revision, read from its database; the lower bound when `revisionUnread` says why not. */
  revision: number;
  revisionUnread?: string;
  clusterID: string;
  etcdVersion: string;
  snapshotSizeBytes: number;
  snapshotSha256: string;
  sizeBytes: number;
  sha256: string;
  bucket: string;
  key: string;
  durationMs: number;
}

/** An attempt of this process; `atMs` is when it finished. */
export type AttemptState = { state: 'running' } | { state: 'succeeded'; result: BackupResult; atMs: number } | { state: 'failed'; failure: BackupFailure; atMs: number };

export interface BackupObservation {
  phase: BackupPhase | undefined;
  attempts: number;
  /** The attempt this process runs or ran for this backup, if any. */
  attempt: AttemptState | undefined;
  /** missing: no such EtcdCluster; forming: exists but has no members to ask yet. */
  cluster: 'missing' | 'forming' | 'ready';
  /**
   * Whether a majority of voters answered with a leader; electing: a majority answered, but
   * without a leader (an election); unknown when etcd was not asked.
   */
  quorum: 'ok' | 'electing' | 'lost' | 'unknown';
  /** Another backup of the same cluster this process is running, by name. */
  busyWith: string | undefined;
  nowMs: number;
}

export type BackupStep =
  | { kind: 'none' }
  | { kind: 'wait'; reason: string; message: string; afterMs: number }
  | { kind: 'start'; attempt: number }
  | { kind: 'succeed'; result: BackupResult }
  | { kind: 'fail'; failure: BackupFailure }
  /** Wait out the pause after a failed attempt; the next attempt starts once it is over. */
  | { kind: 'retry'; failure: BackupFailure; afterMs: number };

/** Pause before attempt n+1: 5 s, 10 s, 20 s... */
export const retryDelayMs = (attempts: number) => 5_000 * 2 ** Math.max(0, attempts - 1);

export function planBackup(o: BackupObservation): BackupStep {
  if (o.phase === 'Succeeded' || o.phase === 'Failed') return { kind: 'none' };
  if (o.attempt?.state === 'succeeded') return { kind: 'succeed', result: o.attempt.result };
  if (o.attempt?.state === 'failed') {
    const { failure } = o.attempt;
    if (!failure.retryable || o.attempts >= maxAttempts) return { kind: 'fail', failure: withAttempts(failure, o.attempts) };
    const left = o.attempt.atMs + retryDelayMs(o.attempts) - o.nowMs;
    if (left > 0) return { kind: 'retry', failure, afterMs: left };
  }
  if (o.attempt?.state === 'running') return { kind: 'wait', reason: backupReasons.uploading, message: 'streaming the snapshot to the bucket', afterMs: 0 };
  if (o.phase === 'Running' && o.attempts >= maxAttempts) {
    return { kind: 'fail', failure: { reason: backupReasons.interrupted, message: `the operator stopped during each of ${o.attempts} attempts`, retryable: false } };
  }
  if (o.cluster === 'missing' && o.attempts > 0) {
    return { kind: 'fail', failure: { reason: backupReasons.clusterNotFound, message: `the EtcdCluster was deleted after attempt ${o.attempts} began, before a snapshot was uploaded: there is nothing left to back up (no object was recorded)`, retryable: false } };
  }
  if (o.cluster === 'missing') return { kind: 'wait', reason: backupReasons.clusterNotFound, message: 'no EtcdCluster of that name in this namespace', afterMs: 10_000 };
  if (o.cluster === 'forming') return { kind: 'wait', reason: backupReasons.clusterNotReady, message: 'the cluster has no member to take a snapshot from yet', afterMs: 5_000 };
  if (o.quorum === 'lost') {
    return {
      kind: 'fail',
      failure: { reason: backupReasons.quorumLost, message: 'a majority of the voting members is not healthy, so no consistent snapshot can be taken; repair the cluster, then create a new EtcdBackup', retryable: false },
    };
  }
  if (o.quorum === 'unknown') return { kind: 'wait', reason: backupReasons.clusterNotReady, message: 'no member answered', afterMs: 5_000 };
  // An election ends within seconds, either way: failing for good here would lose the backup to a blip.
  if (o.quorum === 'electing') return { kind: 'wait', reason: backupReasons.clusterNotReady, message: 'the members answer but have no leader yet (an election): waiting for it', afterMs: 1_000 };
  if (o.busyWith !== undefined) return { kind: 'wait', reason: backupReasons.anotherBackupRunning, message: `backup ${o.busyWith} of the same cluster is running`, afterMs: 0 };
  return { kind: 'start', attempt: o.attempts + 1 };
}

function withAttempts(failure: BackupFailure, attempts: number): BackupFailure {
  return failure.retryable ? { ...failure, message: `${failure.message} (gave up after ${attempts} attempts)` } : failure;
}
