/**
 * Membership planning: one pure function from what was observed to the one next step.
 *
 * The algorithm, in words:
 * - No StatefulSet yet: create it. If the cluster never formed, with `desired` members that
 *   bootstrap together; if it did (status remembers members), at the size it had, so the pods
 *   come back on their volumes.
 * - etcd cannot be reached: change nothing; wait (the StatefulSet may still be starting).
 * - Quorum lost (fewer healthy voters than a majority): change nothing at all. No membership
 *   change can commit, one sent anyway would sit in a log that may come back, a deleted volume
 *   may hold the only copy of acknowledged writes, and a new or emptied member that votes could
 *   elect a member that is behind. Recovery needs a person's consent; until then keep every
 *   state it could start from.
 * - A member that is down and has lost its data cannot rejoin: remove it, then re-add it as a
 *   learner. Two proofs of loss: it was recorded running on a volume and its ordinal now has
 *   another volume (or none); or its pod's start guard holds it past its grace, which the guard
 *   does only on a volume without a log under a member that already ran (with a log it starts
 *   etcd within a second). The second covers a member whose record never came (lost between the
 *   bootstrap and the first pass that saw it, or with the membership ConfigMap) and a volume
 *   emptied in place. Removing a down voter is safe while the others keep a healthy quorum
 *   (checked above), and a false proof (a guard slow on a loaded node) costs a replacement, not
 *   data: the member's log, if any, is a removed member's, which its guard then discards.
 * - A learner at an ordinal spec.replicas no longer wants is removed, before any voter: it cannot
 *   change quorum, and while it has not started it counts as unhealthy and would block the
 *   scale-down of voters forever. Then the StatefulSet shrinks as after any removal.
 * - A learner not started or not caught up by its deadline (--learner-timeout after it was added,
 *   as recorded in the membership ConfigMap) is removed, and the next add waits (learners.ts).
 * - A learner that was added but whose pod does not exist yet: grow the StatefulSet to start it.
 *   A started learner: promote it once it has caught up with the leader and is recorded on its
 *   volume (so that a voter's lost volume can always be proven, above); until then, wait.
 * - Scale down only while every other voter is healthy: move leadership away from the member
 *   leaving, remove it from etcd, then shrink the StatefulSet (whose PVC retention policy,
 *   from spec.storage.retentionPolicy, then keeps or deletes the volume). Highest ordinal first.
 * - Scale up only while every member is healthy: add one learner for the lowest free ordinal,
 *   then start it, promote it. A volume left at that ordinal by a removed member holds a stale
 *   log a new member cannot start on: it is deleted first, but only with retentionPolicy Delete
 *   or the user's reclaim annotation on it. A retained volume, or one older than this
 *   EtcdCluster, is the user's data: wait for their decision instead.
 * - Before the first add, the StatefulSet grows to the size the scale-up ends at, so the pods of
 *   the members still to be added are scheduled, bound and waiting in their start guards while
 *   etcd refuses the add (its window after the last membership change) and while the learners
 *   before them catch up; each starts etcd as soon as etcd lists its member (start-ahead.ts).
 * - Restart members whose pod runs an outdated template (new flags, version, trust bundle) only
 *   when membership matches and every member is healthy and caught up: one at a time, highest
 *   ordinal first, the leader last and only after leadership moved to a member already up to
 *   date (src/versions/roll.ts).
 * - Every step changes one thing; the next pass observes the result and decides again.
 */

import type { LearnerRecord, LearnerRetry } from '../resources/membership-config.js';
import { cancelLearner, expireLearner, learnerDeadline, retryBackoff } from './learners.js';
import { startsAhead } from './start-ahead.js';
import { quorumLost, voterHealth } from '../etcd/quorum.js';
import type { Decision } from './decisions.js';
import { planRoll } from '../versions/roll.js';

export interface ObservedMember {
  /** etcd member ID as a decimal string (64-bit; never a JS number). */
  id: string;
  /** StatefulSet ordinal, from the member's peer URL. Undefined for a member that is not ours. */
  ordinal: number | undefined;
  /** False until the member process has started and published its name. */
  started: boolean;
  isLearner: boolean;
  healthy: boolean;
  isLeader: boolean;
  /** For learners: whether its log is close enough to the leader's to promote it. */
  caughtUp: boolean;
  /** Its pod runs an older revision of the StatefulSet's template than the current one. */
  outdated?: boolean;
  /** Its name in etcd (its pod's), empty until it started. */
  name?: string;
  /** Why it is unhealthy, as observed. */
  problem?: string;
  /** The etcd version it reports. */
  version?: string;
  /** How many entries its applied index trails the leader's log (a difference, safe as a number); undefined when not known. */
  lag?: number;
  /** Started, down, and its pod's start guard has held it past its grace: the pod found its volume empty. */
  held?: boolean;
}

/** A member pod on an outdated template that cannot run etcd by itself (pod-state.ts says why). */
export interface StuckPod {
  ordinal: number;
  why: string;
}

export interface ObservedVolume {
  ordinal: number;
  /** The member recorded as having run on this very volume (by its UID); undefined if none. */
  memberId: string | undefined;
  /** Created before this EtcdCluster object: an earlier cluster of the same name left it. */
  predatesCluster?: boolean;
  /** The user allowed the operator to delete it and reuse the ordinal. */
  reclaim?: boolean;
}

export interface MembershipObservation {
  desired: number;
  /** spec.replicas of the StatefulSet; undefined when it does not exist. */
  statefulSetReplicas: number | undefined;
  /** Member count the cluster had when last observed (status), 0 if it never formed. */
  knownMembers: number;
  /** Member list; undefined when no member answered. */
  members: ObservedMember[] | undefined;
  volumes: ObservedVolume[];
  /**
   * Ordinals whose PVC is being deleted. A pod made now would mount the claim on its way out (and
   * hold it there: Kubernetes keeps a claim while a pod uses it), not a new one: pods wait for it.
   */
  leavingVolumes?: number[];
  /** Members recorded as having run on some volume: only their data can be known lost. */
  recordedMembers: ReadonlySet<string>;
  /**
   * The StatefulSet's template is about to change, or its controller has not yet recorded the
   * latest spec: which pods are outdated is not known yet, so the cluster is not settled.
   */
  templatePending?: boolean;
  /** Volumes of removed members are kept (retentionPolicy Retain, the default) unless reclaimed. */
  retainVolumes?: boolean;
  /** The learner being added and since when, as the membership ConfigMap recorded it. */
  learner?: LearnerRecord;
  /** The last learner removed for its deadline, as recorded; the next add waits for its retryAt. */
  learnerRetry?: LearnerRetry;
  /** How long a learner may take to start and catch up. */
  learnerTimeoutMs: number;
  /** The time of this pass (ms since the epoch): the planner reads no clock. */
  now: number;
  /** spec.version: members reporting another version are being upgraded (or downgraded in patch). */
  targetVersion?: string;
  /** Member pods on an outdated template that cannot run etcd by themselves. */
  stuckPods?: StuckPod[];
}

/** A learner a wait is about: which member, since when, and when its deadline falls. */
export interface LearnerDeadline {
  memberId: string;
  ordinal: number | undefined;
  addedAt: string;
  deadline: string;
}

export type MembershipStep =
  | { kind: 'createStatefulSet'; replicas: number; bootstrap: boolean }
  | { kind: 'scaleStatefulSet'; replicas: number; reason: 'startLearner' | 'startAhead' | 'shrink' }
  | { kind: 'addLearner'; ordinal: number }
  | { kind: 'promoteLearner'; memberId: string; ordinal: number }
  | { kind: 'moveLeader'; fromId: string; toId: string }
  | { kind: 'removeMember'; memberId: string; ordinal: number | undefined; reason: 'scaleDown' | 'dataLost' | 'foreign' }
  | { kind: 'recordLearnerTimeout'; retry: LearnerRetry }
  | { kind: 'removeLearner'; memberId: string; ordinal: number | undefined; reason: 'scaleDown' | 'timedOut'; retry?: LearnerRetry }
  | { kind: 'deleteVolume'; ordinal: number; reason: 'stale' | 'reclaimed' }
  | { kind: 'restartMember'; memberId: string; ordinal: number; toVersion?: string }
  /** The pod of a member that is down anyway, made again from the current template. */
  | { kind: 'restartStuckPod'; ordinal: number; why: string }
  /** `detail` says what exactly the wait is for, when the reason alone does not. */
  | { kind: 'wait'; reason: WaitReason; learner?: LearnerDeadline; retry?: LearnerRetry; detail?: string }
  /** Nothing changes until the user decides (see decisions.ts). */
  | { kind: 'awaitDecision'; decision: Decision }
  | { kind: 'none' };

export type WaitReason =
  | 'etcdUnreachable'
  | 'quorumLost'
  | 'learnerStarting'
  | 'learnerCatchingUp'
  | 'learnerUnrecorded'
  | 'learnerRetryBackoff'
  | 'learnerRemovalNeedsQuorum'
  | 'memberStarting'
  | 'unhealthyNoScaleDown'
  | 'unhealthyNoScaleUp'
  | 'unhealthyNoRestart'
  | 'upgradeWaiting'
  | 'templatePending'
  | 'volumeLeaving';

const byOrdinalDesc = (a: ObservedMember, b: ObservedMember) => (b.ordinal ?? -1) - (a.ordinal ?? -1);

/** A claim at an ordinal below `replicas` is being deleted: starting its pod now must wait. */
function leavingBelow(o: MembershipObservation, replicas: number): MembershipStep | undefined {
  const leaving = (o.leavingVolumes ?? []).filter((ordinal) => ordinal < replicas).sort((a, b) => a - b);
  return leaving.length > 0 ? { kind: 'wait', reason: 'volumeLeaving', detail: `the volume of ordinal ${leaving.join(', ')} is being deleted` } : undefined;
}

export function planMembership(o: MembershipObservation): MembershipStep {
  if (o.statefulSetReplicas === undefined) {
    const leaving = leavingBelow(o, o.knownMembers > 0 ? o.knownMembers : o.desired);
    if (leaving) return leaving;
    return o.knownMembers > 0
      ? { kind: 'createStatefulSet', replicas: o.knownMembers, bootstrap: false }
      : { kind: 'createStatefulSet', replicas: o.desired, bootstrap: true };
  }
  const stuckPod = restartStuckPod(o);
  if (stuckPod) return stuckPod;
  if (!o.members) return { kind: 'wait', reason: 'etcdUnreachable' };
  // The gate comes after recreating a missing StatefulSet only because that brings back the
  // existing members on their own volumes, the one way quorum returns by itself.
  if (quorumLost(voterHealth(o.members))) return { kind: 'wait', reason: 'quorumLost' };
  return (
    repairLostData(o, o.members) ??
    cancelLearner(o, o.members) ??
    expireLearner(o, o.members) ??
    advanceLearner(o, o.members) ??
    scaleDown(o, o.members) ??
    trimStatefulSet(o, o.members) ??
    scaleUp(o, o.members) ??
    planRoll(o.members, o.targetVersion) ??
    (o.templatePending ? { kind: 'wait', reason: 'templatePending' } : { kind: 'none' })
  );
}

/**
 * A member pod on an outdated template that cannot run etcd (an image that cannot be pulled,
 * options etcd refuses, requests no node can hold) is made again from the current template.
 * The roll restarts members only while all are healthy, so without this a bad template rolled
 * to one member could never be undone by fixing the spec: that member stays down and blocks
 * the very restart that would bring it back. Its etcd does not run, so restarting it takes
 * nothing away, with or without a quorum (no membership or volume changes; it starts on its own
 * data). Not while the StatefulSet has yet to record a template change (its new pod would get
 * the old template), and never a member that answers healthy. Highest ordinal first.
 */
function restartStuckPod(o: MembershipObservation): MembershipStep | undefined {
  if (o.templatePending) return undefined;
  const healthy = new Set((o.members ?? []).filter((m) => m.healthy).map((m) => m.ordinal));
  const pod = (o.stuckPods ?? []).filter((p) => !healthy.has(p.ordinal)).sort((a, b) => b.ordinal - a.ordinal)[0];
  return pod ? { kind: 'restartStuckPod', ordinal: pod.ordinal, why: pod.why } : undefined;
}

function volumeOf(o: MembershipObservation, ordinal: number | undefined): ObservedVolume | undefined {
  return o.volumes.find((v) => v.ordinal === ordinal);
}

function repairLostData(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  for (const m of members) {
    if (!m.started || m.healthy || m.ordinal === undefined) continue;
    const recordedElsewhere = o.recordedMembers.has(m.id) && volumeOf(o, m.ordinal)?.memberId !== m.id;
    if (recordedElsewhere || m.held) {
      return { kind: 'removeMember', memberId: m.id, ordinal: m.ordinal, reason: 'dataLost' };
    }
  }
  return undefined;
}

function advanceLearner(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  const pending = members.find((m) => m.isLearner || !m.started);
  if (!pending) return undefined;
  if (!pending.started) {
    if (pending.ordinal !== undefined && o.statefulSetReplicas! <= pending.ordinal) {
      // At least up to the learner: it is one of the members.
      return leavingBelow(o, pending.ordinal + 1) ?? { kind: 'scaleStatefulSet', replicas: startsAhead(o, members), reason: 'startLearner' };
    }
    return withDeadline(o, pending, pending.isLearner ? 'learnerStarting' : 'memberStarting');
  }
  if (!pending.healthy || !pending.caughtUp || pending.ordinal === undefined) return withDeadline(o, pending, 'learnerCatchingUp');
  // A voter recorded on its volume is proven to have lost it at once when the volume goes
  // (repairLostData); without a record, only after its start guard has held it for the grace.
  if (!o.recordedMembers.has(pending.id)) return withDeadline(o, pending, 'learnerUnrecorded');
  return { kind: 'promoteLearner', memberId: pending.id, ordinal: pending.ordinal };
}

function withDeadline(o: MembershipObservation, pending: ObservedMember, reason: WaitReason): MembershipStep {
  const learner = pending.isLearner ? learnerDeadline(o, pending) : undefined;
  return learner ? { kind: 'wait', reason, learner } : { kind: 'wait', reason };
}

function scaleDown(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  const foreign = members.find((m) => m.ordinal === undefined);
  const surplus = members.filter((m) => m.ordinal !== undefined && m.ordinal >= o.desired).sort(byOrdinalDesc);
  const target = foreign ?? surplus[0];
  if (!target) return undefined;
  const others = members.filter((m) => m !== target);
  if (!others.every((m) => m.healthy)) return { kind: 'wait', reason: 'unhealthyNoScaleDown' };
  if (target.isLeader) {
    const next = others.filter((m) => !m.isLearner).sort((a, b) => (a.ordinal ?? 0) - (b.ordinal ?? 0))[0];
    if (next) return { kind: 'moveLeader', fromId: target.id, toId: next.id };
  }
  return { kind: 'removeMember', memberId: target.id, ordinal: target.ordinal, reason: foreign ? 'foreign' : 'scaleDown' };
}

/** Shrinks the StatefulSet to what the members need, keeping the pods started ahead of a scale-up. */
function trimStatefulSet(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  const keep = startsAhead(o, members);
  if (o.statefulSetReplicas! > keep) return { kind: 'scaleStatefulSet', replicas: keep, reason: 'shrink' };
  return undefined;
}

function scaleUp(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  if (members.length >= o.desired) return undefined;
  const backoff = retryBackoff(o);
  if (backoff) return backoff;
  if (!members.every((m) => m.healthy)) return { kind: 'wait', reason: 'unhealthyNoScaleUp' };
  const taken = new Set(members.map((m) => m.ordinal));
  let ordinal = 0;
  while (taken.has(ordinal)) ordinal++;
  // A volume left by a removed member holds a stale log: a fresh member cannot start on it.
  const left = volumeOf(o, ordinal);
  if (left && (left.memberId !== undefined || left.predatesCluster)) {
    if (left.reclaim) return { kind: 'deleteVolume', ordinal, reason: 'reclaimed' };
    if (o.retainVolumes === false && !left.predatesCluster) return { kind: 'deleteVolume', ordinal, reason: 'stale' };
    return { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal, memberId: left.memberId, predatesCluster: !!left.predatesCluster } };
  }
  const ahead = startsAhead(o, members);
  if (o.statefulSetReplicas! < ahead) return { kind: 'scaleStatefulSet', replicas: ahead, reason: 'startAhead' };
  return { kind: 'addLearner', ordinal };
}
