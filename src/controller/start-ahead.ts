/**
 * Pods started ahead of a scale-up's adds: how large the StatefulSet may be beyond the members
 * etcd lists. Pure; the membership planner (membership.ts) grows the StatefulSet to it before the
 * first learner add and shrinks it to it, never below the members.
 */
import { retryBackoff } from './learners.js';
import type { MembershipObservation, ObservedMember } from './membership.js';

/** The StatefulSet size the members need: up to the highest ordinal etcd lists. */
function neededReplicas(members: ObservedMember[]): number {
  return Math.max(0, ...members.map((m) => (m.ordinal ?? -1) + 1));
}

/**
 * A new member may start at this ordinal on the volume there: none, or one no member was ever
 * recorded on that is not older than this EtcdCluster (what scaleUp adds a learner on without
 * asking), and not being deleted.
 */
function freshOrdinal(o: MembershipObservation, ordinal: number): boolean {
  if ((o.leavingVolumes ?? []).includes(ordinal)) return false;
  const v = o.volumes.find((x) => x.ordinal === ordinal);
  return !v || (v.memberId === undefined && !v.predatesCluster);
}

/**
 * The StatefulSet size that has the pods of the members a scale-up still has to add already
 * running, each waiting in its start guard (src/member-init) until etcd lists its member; the
 * guard lets nothing start on an ordinal etcd does not give to a new member, so a pod started
 * ahead can only wait. The ordinals are the ones scaleUp adds next, above the highest member,
 * and only while each is fresh: a removed member's volume is decided on first (scaleUp), and a
 * pod started on it now would hold the very claim that decision may delete. Not during the wait
 * after a learner's timeout: the pods of that scale-up go, so that the add after the wait starts
 * its pod anew (one that could not start gets another chance, on the current template).
 */
export function startsAhead(o: MembershipObservation, members: ObservedMember[]): number {
  const needed = neededReplicas(members);
  if (members.length >= o.desired || retryBackoff(o)) return needed;
  const taken = new Set(members.map((m) => m.ordinal));
  // Free ordinals below the highest member are added first; their pods exist already.
  let missing = o.desired - members.length - Array.from({ length: needed }, (_, i) => i).filter((i) => !taken.has(i)).length;
  let size = needed;
  while (missing > 0 && freshOrdinal(o, size)) {
    size++;
    missing--;
  }
  return size;
}
