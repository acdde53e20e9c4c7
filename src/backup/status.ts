/**
 * The status a step leaves behind. Conditions are rebuilt from the step every pass; the record of
 * what happened (start time, attempts, the result) is carried over, since only the pass that saw
 * it happen can write it.
 */
import type { EtcdBackup, EtcdBackupStatus } from '../api/backup-types.generated.js';
import { type ConditionInput, withTransitions } from '../controller/conditions.js';
import type { BackupPhase, BackupResult, BackupStep } from './plan.js';
import { backupConditionTypes, backupReasons } from './reasons.js';
import type { UploadProgress } from './stall.js';

const complete = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({ type: backupConditionTypes.complete, status, reason, message });
const failed = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({ type: backupConditionTypes.failed, status, reason, message });
const notFailed = failed('False', backupReasons.notFailed, 'no failure');

function phaseAfter(step: BackupStep, previous: BackupPhase | undefined): BackupPhase {
  switch (step.kind) {
    case 'start':
    case 'retry':
      return 'Running';
    case 'succeed':
      return 'Succeeded';
    case 'fail':
      return 'Failed';
    default:
      return previous ?? 'Pending';
  }
}

function conditionsOf(step: BackupStep): ConditionInput[] {
  switch (step.kind) {
    case 'start':
      return [complete('False', backupReasons.uploading, `attempt ${step.attempt}: streaming the snapshot to the bucket`), notFailed];
    case 'wait':
      return [complete('False', step.reason, step.message), notFailed];
    case 'retry':
      return [complete('False', backupReasons.retrying, `${step.failure.reason}: ${step.failure.message}; next attempt in ${Math.ceil(step.afterMs / 1000)} s`), notFailed];
    case 'succeed': {
      const r = step.result;
      return [complete('True', backupReasons.uploaded, `uploaded ${r.sizeBytes} bytes to s3://${r.bucket}/${r.key} (${revisionText(r)}, from ${r.member}, ${r.durationMs} ms)`), notFailed];
    }
    case 'fail':
      return [complete('False', step.failure.reason, step.failure.message), failed('True', step.failure.reason, step.failure.message)];
    case 'none':
      return [];
  }
}

/** `progress`: how far the attempt this process runs got, shown while it runs. */
export function backupStatus(backup: EtcdBackup, step: BackupStep, now: Date, progress?: UploadProgress): EtcdBackupStatus {
  const previous = backup.status ?? {};
  if (step.kind === 'none') return previous;
  const at = now.toISOString();
  const status: EtcdBackupStatus = {
    ...previous,
    observedGeneration: backup.metadata.generation,
    phase: phaseAfter(step, previous.phase),
    compression: backup.spec.compression,
    conditions: withTransitions(conditionsOf(step), previous.conditions, backup.metadata.generation, now),
  };
  if (step.kind === 'start') {
    status.attempts = step.attempt;
    status.startTime ??= at;
    // The first attempt decides which cluster object the backup is of; later ones keep it.
    status.clusterUID ??= step.clusterUID || undefined;
    status.upload = { storedBytes: 0, lastProgressTime: at };
  }
  if (step.kind === 'wait' && progress) status.upload = { storedBytes: progress.storedBytes, lastProgressTime: new Date(progress.lastProgressAtMs).toISOString() };
  if (step.kind === 'succeed' || step.kind === 'fail') status.completionTime ??= at;
  if (step.kind === 'succeed') {
    const r = step.result;
    Object.assign(status, { member: r.member, revision: r.revision, clusterID: r.clusterID, clusterUID: r.clusterUID, etcdVersion: r.etcdVersion, snapshotSizeBytes: r.snapshotSizeBytes, snapshotSha256: r.snapshotSha256, sizeBytes: r.sizeBytes, sha256: r.sha256, bucket: r.bucket, key: r.key, upload: { storedBytes: r.sizeBytes, lastProgressTime: at } });
  }
  return status;
}

/** The revision as the condition states it: exact, or a lower bound with the reason. */
function revisionText(r: BackupResult): string {
  return r.revisionUnread === undefined ? `revision ${r.revision}` : `revision at least ${r.revision}: the snapshot's own could not be read (${r.revisionUnread})`;
}
