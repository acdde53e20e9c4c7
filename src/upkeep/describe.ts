/** What upkeep says in status conditions and events, from the step it took or waits on. */
import { conditionReasons as R } from '../api/conditions.js';
import { hexId } from '../etcd/convert.js';
import type { EtcdAlarm } from '../etcd/types.js';
import { compactionWaitMs, disarmBelow, type UpkeepStep } from './plan.js';

/** Reasons of upkeep's Normal events. */
export const upkeepEvents = {
  compacted: 'Compacted',
  defragmented: 'Defragmented',
  alarmDisarmed: 'AlarmDisarmed',
  movedLeader: 'MovedLeader',
} as const;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The Progressing reason and message of an upkeep step that acts, or of the one wait that is part
 * of a defragmentation under way (followers still applying the compaction that fragmented the
 * leader); undefined for the other waits and none.
 */
export function describeProgress(step: UpkeepStep, noSpace: boolean): { reason: string; message: string } | undefined {
  const reason = noSpace ? R.recoveringSpace : R.defragmenting;
  switch (step.kind) {
    case 'compact':
      return { reason, message: `NOSPACE: compacting the history up to revision ${step.revision}` };
    case 'moveLeader':
      return { reason, message: `moving leadership from ${step.forMember} to ${step.toName} before defragmenting ${step.forMember}` };
    case 'defragment':
      return { reason, message: `defragmenting ${step.name}: ${mib(step.freeBytes)} of its ${mib(step.dbSize)} database file are free` };
    case 'disarm':
      return { reason, message: `disarming the NOSPACE alarm of member ${hexId(step.alarm.memberId)}: every database file is below ${disarmBelow * 100}% of the quota` };
    case 'wait':
      if (!step.applying) return undefined;
      return {
        reason,
        message: `defragmenting ${step.applying.forMember} once leadership moves; waiting up to ${compactionWaitMs / 1000} s for ${step.applying.followers.join(', ')} to apply the compaction first, so leadership moves only once`,
      };
    case 'none':
      return undefined;
  }
}

/** The Degraded entry while NOSPACE is raised: what the operator does, and what only the user can do. */
export function describeNoSpace(alarms: EtcdAlarm[], waitingForUser: boolean, quotaBytes: number | undefined): { reason: string; message: string; key: string } {
  const by = alarms.map((a) => hexId(a.memberId)).join(', ');
  const quota = quotaBytes === undefined ? 'no quota' : `the ${mib(quotaBytes)} quota`;
  const next = waitingForUser
    ? `compacted and defragmented, the data still fills ${quota}: delete keys (then the operator compacts, defragments and disarms again) or raise spec.options.quota-backend-bytes`
    : 'the operator compacts, defragments and disarms the alarm once every database file is back under the quota';
  // One Warning per alarm raised, not one per phase of the recovery (the message moves with it).
  return { reason: R.noSpace, message: `etcd raised the NOSPACE alarm (member ${by}) and refuses every write but deletes; ${next}`, key: `NOSPACE ${by}` };
}
