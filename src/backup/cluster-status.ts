/**
 * What an EtcdCluster's status says about its backups, rebuilt every pass from the EtcdBackup
 * objects of the cluster (scheduled and on-demand alike) and from spec.backup. Pure: the backups
 * and the clock are arguments. A failure after the last success is shown beside it, so a status
 * never reads "backed up" alone while every recent backup fails. Only backups of this cluster
 * object count (origin.ts): one of an earlier cluster of the same name is none of its own.
 */
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster, EtcdClusterBackupStatus } from '../api/types.generated.js';
import { type Cron, nextFire, parseCron } from './cron.js';
import { backupOfCluster } from './origin.js';
import { backupConditionTypes } from './reasons.js';

const finishedAt = (b: EtcdBackup): number => Date.parse(b.status?.completionTime ?? '');

/** The backups block of the cluster's status, or undefined when there is nothing to say. */
export function clusterBackupStatus(cluster: EtcdCluster, backups: readonly EtcdBackup[], now: Date): EtcdClusterBackupStatus | undefined {
  const schedule = cluster.spec.backup;
  const finished = backups
    .filter((b) => backupOfCluster(b, cluster) && !Number.isNaN(finishedAt(b)) && (b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed'))
    // Newest first; the name breaks ties so that two passes over the same backups agree.
    .sort((a, b) => finishedAt(b) - finishedAt(a) || (b.metadata.name ?? '').localeCompare(a.metadata.name ?? ''));
  const success = finished.find((b) => b.status?.phase === 'Succeeded');
  const failedSince = finished.filter((b) => b.status?.phase === 'Failed' && (!success || finishedAt(b) > finishedAt(success)));
  const next = schedule && !schedule.suspend ? nextScheduleTime(schedule.schedule, now) : undefined;
  const out: EtcdClusterBackupStatus = {};
  if (success) {
    const s = success.status!;
    out.lastSuccessful = { name: success.metadata.name!, completionTime: s.completionTime!, revision: s.revision, sizeBytes: s.sizeBytes, key: s.key };
  }
  const failed = failedSince[0];
  if (failed) {
    const condition = failed.status?.conditions?.find((c) => c.type === backupConditionTypes.failed);
    out.lastFailed = { name: failed.metadata.name!, completionTime: failed.status!.completionTime!, reason: condition?.reason, message: condition?.message };
  }
  if (schedule || finished.length > 0) out.failuresSinceSuccess = failedSince.length;
  if (next) out.nextScheduleTime = next.toISOString();
  return Object.keys(out).length > 0 ? out : undefined;
}

function nextScheduleTime(expression: string, now: Date): Date | undefined {
  const cron = parseCron(expression);
  return 'error' in cron ? undefined : nextFire(cron, now);
}

/**
 * A schedule the API accepted that still cannot work: a range the pattern cannot check (30-10),
 * or a date that never comes (February 30). Said in Degraded and a Warning event, not only logged.
 */
export function scheduleProblem(schedule: EtcdCluster['spec']['backup'], now: Date): { reason: string; message: string } | undefined {
  if (!schedule) return undefined;
  const cron = parseCron(schedule.schedule);
  if ('error' in cron) return { reason: R.backupScheduleInvalid, message: `${cron.error}: no scheduled backup is taken; fix spec.backup.schedule` };
  if (!firesEver(cron, now)) {
    return { reason: R.backupScheduleNeverFires, message: `backup schedule '${schedule.schedule}' names no time that exists (such as February 30): no scheduled backup is taken; fix spec.backup.schedule` };
  }
  return undefined;
}

/** nextFire looks five years ahead: a date that exists comes at least every four (February 29). */
const firesEver = (cron: Cron, now: Date): boolean => nextFire(cron, now) !== undefined;
