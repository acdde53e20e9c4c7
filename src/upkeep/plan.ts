/**
 * Upkeep planning: one pure function from what was observed to the one next upkeep step.
 *
 * The rules, in order (the first that applies decides):
 * - Data inconsistent (members' HashKV disagree at one revision, or etcd raised CORRUPT): nothing.
 *   Compacting, defragmenting or disarming could only destroy evidence; a person decides.
 * - A membership or version change has work to do (or changes are blocked: paused, no client
 *   certificate): wait. Upkeep runs only on a cluster that is otherwise settled.
 * - Not every member started and healthy, or the member list was not served by a quorum: wait.
 *   Defragmenting blocks the member it runs on; with another member down that could cost quorum.
 * - NOSPACE raised (etcd refuses every write but deletes): compact to the current revision when
 *   that revision moved since the operator last compacted (the user deleted data), defragment
 *   each member with free pages worth reclaiming, and once after each compaction every member
 *   whose file is still above `disarmBelow` of the quota (etcd counts the pages a compaction
 *   freed as free only after a later write commits, and NOSPACE refuses writes, so the free
 *   bytes it reports can stay stale for good), then disarm the alarm once every member's file
 *   is below `disarmBelow` of the quota. While data still fills the quota, wait for the user:
 *   delete data or raise quota-backend-bytes. The quota itself is never raised here.
 * - Defragmentation (spec.maintenance.defrag, may be off): a member whose file has at least
 *   minFragmentedBytes free AND minFragmentedPercent of it free is defragmented.
 * In both cases one member at a time: followers first (most free bytes first), the leader last,
 * and only after leadership moved to a healthy voter, since a defragmenting leader stalls every
 * write. A single-member cluster has nowhere to move leadership: it is defragmented in place.
 * - Leader last means after every follower that a compaction will fragment too. Members apply a
 *   compaction one after another (the leader usually first, a large one takes each of them a
 *   while), so a pass can see the leader fragmented and a follower not yet. A follower holding
 *   more bytes in use than the leader, enough to be fragmented once it matches the leader, is
 *   still applying it: wait, instead of moving leadership now and again after that follower (a CI
 *   run saw MovedLeader, Defragmented x2, MovedLeader, Defragmented).
 */

import type { EtcdAlarm } from '../etcd/types.js';

export interface DefragSettings {
  enabled: boolean;
  minFragmentedBytes: number;
  minFragmentedPercent: number;
}

export interface UpkeepMember {
  id: string;
  name: string;
  /** The endpoint that answered its Status, where a defragmentation is sent. */
  endpoint: string | undefined;
  isLearner: boolean;
  isLeader: boolean;
  started: boolean;
  healthy: boolean;
  dbSize: number | undefined;
  dbSizeInUse: number | undefined;
}

export interface UpkeepObservation {
  defrag: DefragSettings;
  members: UpkeepMember[];
  quorumConfirmed: boolean;
  alarms: EtcdAlarm[];
  /** The quota etcd enforces; undefined when it runs without one. */
  quotaBytes: number | undefined;
  /** Membership and versions match the spec and nothing blocks changes. */
  membershipIdle: boolean;
  /** A consistency check found members that disagree, or etcd raised CORRUPT. */
  inconsistent: boolean;
  /** The current revision, read while NOSPACE is raised. */
  revision: bigint | undefined;
  /** The revision the operator last compacted to, while NOSPACE is raised. */
  compactedRevision: bigint | undefined;
  /** Members (IDs) defragmented since that compaction, while NOSPACE is raised. */
  noSpaceDefragmented?: readonly string[];
  /**
   * The planner has waited `compactionWaitMs` for followers to apply a compaction: they are no
   * longer waited for (a follower that keeps more in use than the leader for good, say while a
   * long read holds its pages, must not keep the leader from being defragmented).
   */
  compactionWaitOver?: boolean;
}

/** How long leadership waits for followers still applying a compaction before it moves anyway. */
export const compactionWaitMs = 60_000;

export type UpkeepWait = 'inconsistent' | 'membershipBusy' | 'memberUnhealthy' | 'noSpaceNeedsUser' | 'compactionApplying';

export type UpkeepStep =
  | { kind: 'compact'; revision: bigint }
  | { kind: 'moveLeader'; fromId: string; toId: string; toName: string; forMember: string }
  | { kind: 'defragment'; memberId: string; name: string; endpoint: string; dbSize: number; freeBytes: number; reason: 'fragmented' | 'noSpace' }
  | { kind: 'disarm'; alarm: EtcdAlarm }
  | { kind: 'wait'; reason: UpkeepWait; applying?: { forMember: string; followers: string[] } }
  | { kind: 'none' };

/**
 * A NOSPACE alarm is disarmed only once every file is below this share of the quota (the level of
 * the EtcdDatabaseNearQuota alert): with less headroom the next writes raise it again at once.
 */
export const disarmBelow = 0.8;

/** Under NOSPACE, free pages worth a defragmentation: a tenth of the file or 1 MiB, whichever is larger. */
const noSpaceMinFree = (dbSize: number) => Math.max(1024 * 1024, dbSize / 10);

function freeBytes(m: UpkeepMember): number {
  return Math.max(0, (m.dbSize ?? 0) - (m.dbSizeInUse ?? 0));
}

function fragmented(m: UpkeepMember, s: DefragSettings): boolean {
  const free = freeBytes(m);
  return free > 0 && free >= s.minFragmentedBytes && free * 100 >= (m.dbSize ?? 0) * s.minFragmentedPercent;
}

export function planUpkeep(o: UpkeepObservation): UpkeepStep {
  if (o.inconsistent || o.alarms.some((a) => a.alarm === 'CORRUPT')) return { kind: 'wait', reason: 'inconsistent' };
  if (!o.membershipIdle) return { kind: 'wait', reason: 'membershipBusy' };
  if (!o.quorumConfirmed || o.members.length === 0 || !o.members.every((m) => m.started && m.healthy && m.endpoint !== undefined)) {
    return { kind: 'wait', reason: 'memberUnhealthy' };
  }
  const noSpace = o.alarms.filter((a) => a.alarm === 'NOSPACE');
  if (noSpace.length > 0) return planNoSpace(o, noSpace);
  if (!o.defrag.enabled) return { kind: 'none' };
  const step = nextDefragmentation(o.members, (m) => fragmented(m, o.defrag), 'fragmented') ?? { kind: 'none' };
  if (step.kind !== 'moveLeader') return step;
  const leader = o.members.find((m) => m.id === step.fromId)!;
  const followers = o.compactionWaitOver ? [] : o.members.filter((m) => compactionPending(m, leader, o.defrag)).map((m) => m.name);
  return followers.length > 0 ? { kind: 'wait', reason: 'compactionApplying', applying: { forMember: leader.name, followers } } : step;
}

/** A follower not fragmented now that would be with no more bytes in use than the leader has. */
function compactionPending(m: UpkeepMember, leader: UpkeepMember, s: DefragSettings): boolean {
  if (m.isLeader || fragmented(m, s) || m.dbSizeInUse === undefined || leader.dbSizeInUse === undefined) return false;
  return fragmented({ ...m, dbSizeInUse: Math.min(m.dbSizeInUse, leader.dbSizeInUse) }, s);
}

function planNoSpace(o: UpkeepObservation, alarms: EtcdAlarm[]): UpkeepStep {
  if (o.revision !== undefined && (o.compactedRevision === undefined || o.revision > o.compactedRevision)) return { kind: 'compact', revision: o.revision };
  const limit = o.quotaBytes === undefined ? Infinity : o.quotaBytes * disarmBelow;
  const done = new Set(o.noSpaceDefragmented ?? []);
  const worth = (m: UpkeepMember) => freeBytes(m) >= noSpaceMinFree(m.dbSize ?? 0) || (o.compactedRevision !== undefined && (m.dbSize ?? 0) >= limit && !done.has(m.id));
  const defrag = nextDefragmentation(o.members, worth, 'noSpace');
  if (defrag) return defrag;
  if (o.members.every((m) => (m.dbSize ?? 0) < limit)) return { kind: 'disarm', alarm: alarms[0]! };
  return { kind: 'wait', reason: 'noSpaceNeedsUser' };
}

const byFreeThenName = (a: UpkeepMember, b: UpkeepMember) => freeBytes(b) - freeBytes(a) || a.name.localeCompare(b.name);

/** Followers first, most free bytes first; the leader only once leadership moved away from it. */
function nextDefragmentation(members: UpkeepMember[], wanted: (m: UpkeepMember) => boolean, reason: 'fragmented' | 'noSpace'): UpkeepStep | undefined {
  const candidates = members.filter(wanted).sort(byFreeThenName);
  const follower = candidates.find((m) => !m.isLeader);
  if (follower) return defragment(follower, reason);
  const leader = candidates[0];
  if (!leader) return undefined;
  // Prefer a voter that needs no defragmentation itself, so leadership moves once.
  const voters = members.filter((m) => !m.isLearner && !m.isLeader).sort((a, b) => freeBytes(a) - freeBytes(b) || a.name.localeCompare(b.name));
  const target = voters[0];
  if (!target) return defragment(leader, reason);
  return { kind: 'moveLeader', fromId: leader.id, toId: target.id, toName: target.name, forMember: leader.name };
}

function defragment(m: UpkeepMember, reason: 'fragmented' | 'noSpace'): UpkeepStep {
  return { kind: 'defragment', memberId: m.id, name: m.name, endpoint: m.endpoint!, dbSize: m.dbSize ?? 0, freeBytes: freeBytes(m), reason };
}
