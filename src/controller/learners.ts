/**
 * Learners that must not freeze the cluster: pure rules, asked by the membership planner before
 * it waits for a learner, and the durable record that gives a learner's deadline its start.
 *
 * - A learner whose ordinal is no longer wanted (spec.replicas lowered below it) is removed, not
 *   promoted: nothing is gained by waiting for a member that will be removed next.
 * - A learner not started or not caught up `learnerTimeoutMs` after it was added is removed, in
 *   two passes: first the timeout is written to the membership ConfigMap (with when to add
 *   again), and only once the cache shows that record is the member removed. The retry wait then
 *   rests on a record already observed, so a stale cache in the pass after the removal cannot
 *   lose it and turn the timeout into an add/remove loop.
 * - The next add waits until the recorded `retryAt`; each timeout in a row doubles the wait.
 * - Removing a learner changes no quorum (it has no vote), so it needs only a quorum of healthy
 *   voters to be committed, not every member healthy: a down voter must not keep a stuck learner.
 */
import type { LearnerRecord, LearnerRetry } from '../resources/membership-config.js';
import { type ClusterRef, names } from '../resources/names.js';
import { quorum } from '../etcd/quorum.js';
import type { LearnerDeadline, MembershipObservation, MembershipStep, ObservedMember } from './membership.js';
import { hexId } from '../etcd/convert.js';
import { conditionReasons as R } from '../api/conditions.js';

/** The documented default of --learner-timeout. */
export const defaultLearnerTimeoutMs = 5 * 60_000;

/** The wait before adding again after `failures` timeouts in a row: the timeout, doubled each time, at most 8 times. */
export function retryDelayMs(timeoutMs: number, failures: number): number {
  return timeoutMs * 2 ** Math.min(Math.max(failures - 1, 0), 3);
}

function votersHaveQuorum(members: ObservedMember[]): boolean {
  const voters = members.filter((m) => !m.isLearner);
  return members.some((m) => m.isLeader) && voters.filter((m) => m.healthy).length >= quorum(voters.length);
}

/** Lowering spec.replicas below a learner's ordinal cancels its add. */
export function cancelLearner(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  const learner = members.find((m) => m.isLearner && m.ordinal !== undefined && m.ordinal >= o.desired);
  if (!learner) return undefined;
  if (!votersHaveQuorum(members)) return { kind: 'wait', reason: 'learnerRemovalNeedsQuorum' };
  return { kind: 'removeLearner', memberId: learner.id, ordinal: learner.ordinal, reason: 'scaleDown' };
}

/** A learner past its deadline: record the timeout, then (once the record is observed) remove it. */
export function expireLearner(o: MembershipObservation, members: ObservedMember[]): MembershipStep | undefined {
  const learner = members.find((m) => m.isLearner);
  // No record yet (just added, or the operator died before writing it): its clock starts when it is written.
  const record = o.learner?.memberId === learner?.id ? o.learner : undefined;
  if (!learner || !record) return undefined;
  if (learner.started && learner.healthy && learner.caughtUp) return undefined;
  if (o.now < Date.parse(record.addedAt) + o.learnerTimeoutMs) return undefined;
  if (!votersHaveQuorum(members)) return { kind: 'wait', reason: 'learnerRemovalNeedsQuorum' };
  if (o.learnerRetry?.memberId === learner.id) {
    return { kind: 'removeLearner', memberId: learner.id, ordinal: learner.ordinal, reason: 'timedOut', retry: o.learnerRetry };
  }
  const failures = (o.learnerRetry?.failures ?? 0) + 1;
  const retryAt = new Date(o.now + retryDelayMs(o.learnerTimeoutMs, failures)).toISOString();
  const retry: LearnerRetry = { ...record, ordinal: learner.ordinal, why: learner.started ? 'notCaughtUp' : 'notStarted', failures, retryAt };
  return { kind: 'recordLearnerTimeout', retry };
}

/** The next add after a timeout waits for its recorded time. */
export function retryBackoff(o: MembershipObservation): MembershipStep | undefined {
  if (!o.learnerRetry || o.now >= Date.parse(o.learnerRetry.retryAt)) return undefined;
  return { kind: 'wait', reason: 'learnerRetryBackoff', retry: o.learnerRetry };
}

/** The learner a wait is about, with its deadline, for the status message. */
export function learnerDeadline(o: MembershipObservation, learner: ObservedMember): LearnerDeadline | undefined {
  if (o.learner?.memberId !== learner.id) return undefined;
  return { memberId: learner.id, ordinal: learner.ordinal, addedAt: o.learner.addedAt, deadline: new Date(Date.parse(o.learner.addedAt) + o.learnerTimeoutMs).toISOString() };
}

export interface LearnerRecords {
  learner?: LearnerRecord;
  learnerRetry?: LearnerRetry;
}

/**
 * The learner records to keep, from the last ones written and this pass's member list: the
 * current learner keeps its recorded time (or is recorded now); the retry record is dropped once
 * a learner was promoted, or once no learner is wanted any more (membership reached spec.replicas).
 */
export function nextLearnerRecords(previous: LearnerRecords, members: Pick<ObservedMember, 'id' | 'isLearner' | 'ordinal'>[] | undefined, desired: number, now: Date): LearnerRecords {
  if (!members) return previous;
  const current = members.find((m) => m.isLearner);
  const learner = !current ? undefined : previous.learner?.memberId === current.id ? previous.learner : { memberId: current.id, ordinal: current.ordinal, addedAt: now.toISOString() };
  const promoted = previous.learner !== undefined && members.some((m) => m.id === previous.learner!.memberId && !m.isLearner);
  const settled = !current && members.length >= desired;
  const learnerRetry = promoted || settled ? undefined : previous.learnerRetry;
  return { ...(learner ? { learner } : {}), ...(learnerRetry ? { learnerRetry } : {}) };
}


export function learnerName(ref: ClusterRef, r: { memberId: string; ordinal: number | undefined }): string {
  return `${r.ordinal !== undefined ? names.member(ref, r.ordinal) : 'learner'} (${hexId(r.memberId)})`;
}

const whyText = { notStarted: 'had not started', notCaughtUp: 'had not caught up with the leader' } as const;

/** Which learner, since when, why, and when the add is tried again: for events and status. */
export function describeTimeout(ref: ClusterRef, r: LearnerRetry): string {
  return `learner ${learnerName(ref, r)}, added at ${r.addedAt}, ${whyText[r.why]} by its deadline: removed, adding again after ${r.retryAt} (timeout ${r.failures} in a row)`;
}

/** A learner that missed its deadline needs a person (a pod that cannot start) until an add succeeds. */
export function learnerProblems(ref: ClusterRef, learners: LearnerRecords): { reason: string; message: string }[] {
  return learners.learnerRetry ? [{ reason: R.learnerTimedOut, message: describeTimeout(ref, learners.learnerRetry) }] : [];
}
