/**
 * Retention of scheduled backups, as a pure plan: which of one cluster's scheduled backups to
 * delete (its object, then the EtcdBackup). Rules, in order:
 *   1. Only finished backups that the cluster's schedule created are candidates; on-demand
 *      backups and backups still running are never touched, so retention deletes only objects
 *      this cluster's scheduled backups wrote (their keys come from their own status).
 *   2. The newest successful backup is always kept, whatever its age: age alone never leaves a
 *      cluster with no backup.
 *   3. Of successful backups, the newest `keepLast` are kept; older ones, and any older than
 *      `maxAgeMs`, go. Failed ones are kept as long (same count, same age) for their reasons.
 *   4. A backup a restore or a consented recovery is reading from (`inUse`) is kept until it is
 *      done, whatever rules 2 and 3 say: deleting it would fail that restore half way, with the
 *      very snapshot the user chose gone.
 */

export interface RetentionPolicy {
  keepLast?: number;
  maxAgeMs?: number;
}

export interface RetainedBackup {
  name: string;
  /** Undefined while the backup runs. */
  phase: 'Succeeded' | 'Failed' | undefined;
  /** The schedule slot it was made for: the order of backups. */
  slot: Date;
  /** The object to delete with it, when it wrote one. */
  key?: string;
  /** A restore or recovery names it and has not finished. */
  inUse?: boolean;
}

function expired(list: RetainedBackup[], policy: RetentionPolicy, now: Date, keepNewest: boolean): RetainedBackup[] {
  const newestFirst = [...list].sort((a, b) => b.slot.getTime() - a.slot.getTime());
  return newestFirst.filter((b, i) => {
    if (keepNewest && i === 0) return false;
    const tooMany = policy.keepLast !== undefined && i >= policy.keepLast;
    const tooOld = policy.maxAgeMs !== undefined && now.getTime() - b.slot.getTime() > policy.maxAgeMs;
    return tooMany || tooOld;
  });
}

/** The backups to delete now, oldest first. */
export function planRetention(backups: RetainedBackup[], policy: RetentionPolicy, now: Date): RetainedBackup[] {
  const succeeded = backups.filter((b) => b.phase === 'Succeeded');
  const failed = backups.filter((b) => b.phase === 'Failed');
  return [...expired(succeeded, policy, now, true), ...expired(failed, policy, now, false)].filter((b) => !b.inUse).sort((a, b) => a.slot.getTime() - b.slot.getTime());
}
