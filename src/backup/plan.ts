/**
 * The backup planner: from what one pass observed, the single next step. Pure, so the table in
 * plan.test.ts covers every case. In words:
 *   1. Succeeded and Failed are final: nothing to do, ever.
 *   2. An attempt in this process that finished decides: record success, or a failure that is
 *      final (bad input, or attempts used up) or retried after a pause (then as from step 6).
 *      A success stands even if its cluster went since: it is a snapshot of the cluster it began
 *      on, and records that cluster's UID.
 *   3. A backup belongs to the EtcdCluster object (its UID) its first attempt began on. That
 *      object deleted, or replaced by another of the same name, the backup fails and an attempt
 *      still running is stopped: uploading would record a snapshot of a cluster that is gone,
 *      and the next attempt would take one of another cluster under this backup's name.
 *   4. An attempt still running: wait for it.
 *   5. No attempt here although status says Running: the process that ran it is gone (restart,
 *      leadership moved); its multipart upload was never completed, so start again (a new attempt).
 *   6. Before starting: the cluster must exist and have formed; with quorum lost a snapshot could
 *      not be consistent and a user must know, so the backup fails with QuorumLost. A backup not
 *      begun waits for a missing cluster (it may be created next); one that began fails: its
 *      cluster was deleted, and waiting would leave it Running for ever.
 *   7. One backup at a time per cluster: wait while another of the same cluster runs.
 */
import { type BackupFailure, backupReasons } from './reasons.js';
import type { UploadProgress } from './stall.js';

export const maxAttempts = 3;

export type BackupPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** What an attempt produced, once it finished well. */
export interface BackupResult {
  member: string;
  /** The snapshot's own revision, read from its database; the lower bound when `revisionUnread` says why not. */
  revision: number;
  revisionUnread?: string;
  clusterID: string;
  /** metadata.uid of the EtcdCluster the attempt began on. */
  clusterUID: string;
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
export type AttemptState = { state: 'running'; progress?: UploadProgress } | { state: 'succeeded'; result: BackupResult; atMs: number } | { state: 'failed'; failure: BackupFailure; atMs: number };

export interface BackupObservation {
  phase: BackupPhase | undefined;
  attempts: number;
  /** The attempt this process runs or ran for this backup, if any. */
  attempt: AttemptState | undefined;
  /** missing: no such EtcdCluster; forming: exists but has no members to ask yet. */
  cluster: 'missing' | 'forming' | 'ready';
  /** metadata.uid of the EtcdCluster of that name now; undefined when missing (or being deleted). */
  clusterUID: string | undefined;
  /** The EtcdCluster UID this backup's attempts began on (this process's attempt, else status); undefined before any began. */
  begunOn: string | undefined;
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
  /** `clusterUID`: the EtcdCluster the attempt is of, recorded in status. */
  | { kind: 'start'; attempt: number; clusterUID: string }
  | { kind: 'succeed'; result: BackupResult }
  /** `stopAttempt`: the attempt still running is aborted (its upload never completes). */
  | { kind: 'fail'; failure: BackupFailure; stopAttempt?: true }
  /** Wait out the pause after a failed attempt; the next attempt starts once it is over. */
  | { kind: 'retry'; failure: BackupFailure; afterMs: number };

/** Pause before attempt n+1: 5 s, 10 s, 20 s... */
export const retryDelayMs = (attempts: number) => 5_000 * 2 ** Math.max(0, attempts - 1);

export function planBackup(o: BackupObservation): BackupStep {
  if (o.phase === 'Succeeded' || o.phase === 'Failed') return { kind: 'none' };
  if (o.attempt?.state === 'succeeded') return { kind: 'succeed', result: o.attempt.result };
  if (o.attempt?.state === 'failed' && (!o.attempt.failure.retryable || o.attempts >= maxAttempts)) return { kind: 'fail', failure: withAttempts(o.attempt.failure, o.attempts) };
  const gone = clusterGone(o);
  if (gone) return o.attempt?.state === 'running' ? { kind: 'fail', failure: gone, stopAttempt: true } : { kind: 'fail', failure: gone };
  if (o.attempt?.state === 'failed') {
    const { failure } = o.attempt;
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
  return { kind: 'start', attempt: o.attempts + 1, clusterUID: o.clusterUID ?? '' };
}

/** Why the cluster a begun backup is of is no longer there, if it is not. */
function clusterGone(o: BackupObservation): BackupFailure | undefined {
  if (o.begunOn === undefined || o.begunOn === '' || o.begunOn === o.clusterUID) return undefined;
  const what = `the EtcdCluster this backup began on (uid ${o.begunOn})`;
  const during = o.attempt?.state === 'running' ? `while attempt ${o.attempts} ran: the attempt was stopped and its upload aborted` : `after attempt ${o.attempts} began, before a snapshot was uploaded (no object was recorded)`;
  if (o.cluster === 'missing') return { reason: backupReasons.clusterNotFound, message: `${what} was deleted ${during}`, retryable: false };
  return {
    reason: backupReasons.clusterReplaced,
    message: `${what} was deleted and another of the same name created (uid ${o.clusterUID}) ${during}; a snapshot of the new cluster is not this backup: create a new EtcdBackup for it`,
    retryable: false,
  };
}

function withAttempts(failure: BackupFailure, attempts: number): BackupFailure {
  return failure.retryable ? { ...failure, message: `${failure.message} (gave up after ${attempts} attempts)` } : failure;
}
