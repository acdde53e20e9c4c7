import { bytesOf } from './quantity.js';

/**
 * Growing the members' volumes (spec.storage.size), one pure function from what was observed to
 * the one next step. Asked only once the membership planner has nothing to do, so it never runs
 * while membership changes or quorum is lost. In words:
 * - A claim smaller than the spec whose StorageClass cannot expand (allowVolumeExpansion not
 *   true, or the class is gone): refuse, and change nothing, not even the other claims. Said in
 *   Degraded whether or not membership is busy, so the user learns it on the first pass.
 * - A claim whose request exceeds its capacity is being resized: wait for it.
 * - Else the lowest ordinal's claim smaller than the spec: ask for the new size. One claim at a
 *   time, each waited for, so a resize that hangs or fails costs one member's volume, never all.
 * - Every claim at the spec's size but the StatefulSet's volumeClaimTemplates smaller (the API
 *   server forbids changing them): delete the StatefulSet with orphan propagation, which leaves
 *   its pods running, and let the next passes create it again at the same size of membership.
 *   Its pod template is unchanged, so the pods' revision stays current and none restarts.
 */

/** What the operator may know of a StorageClass: unknown when it may not read classes. */
export type ClassState = 'expandable' | 'fixed' | 'missing' | 'unknown';

export interface ObservedClaim {
  ordinal: number;
  name: string;
  className: string | undefined;
  /** spec.resources.requests.storage */
  requested: string | undefined;
  /** status.capacity.storage; undefined while unbound. */
  capacity: string | undefined;
}

export interface StorageObservation {
  /** spec.storage.size; undefined for EmptyDir storage, which has nothing to grow. */
  desired: string | undefined;
  /** The live StatefulSet; undefined when it does not exist. */
  statefulSet: { replicas: number; claimSize: string | undefined; deleting: boolean } | undefined;
  claims: ObservedClaim[];
  /** The classes of the claims that must grow, by name. */
  classes: Record<string, ClassState>;
  /** The membership planner has nothing to do this pass (and quorum holds). */
  membershipIdle: boolean;
}

export type StorageStep =
  | { kind: 'expandClaim'; ordinal: number; claim: string; from: string | undefined; to: string }
  | { kind: 'wait'; reason: 'claimResizing'; claim: string; requested: string | undefined; capacity: string | undefined }
  | { kind: 'wait'; reason: 'statefulSetDeleting' }
  | { kind: 'recreateStatefulSet'; replicas: number; from: string | undefined; to: string }
  | { kind: 'refuse'; className: string | undefined; state: 'fixed' | 'missing'; claims: string[]; size: string }
  | { kind: 'none' };

const smaller = (a: string | undefined, b: bigint) => (bytesOf(a) ?? 0n) < b;

/** Claims of the StatefulSet's members that are smaller than the spec, lowest ordinal first. */
export function claimsToGrow(o: Pick<StorageObservation, 'desired' | 'statefulSet' | 'claims'>): ObservedClaim[] {
  const want = bytesOf(o.desired);
  if (want === undefined || !o.statefulSet) return [];
  // Claims of ordinals the StatefulSet no longer runs belong to removed members: left as they are.
  return o.claims.filter((c) => c.ordinal < o.statefulSet!.replicas && smaller(c.requested, want)).sort((a, b) => a.ordinal - b.ordinal);
}

export function planStorage(o: StorageObservation): StorageStep {
  const want = bytesOf(o.desired);
  if (want === undefined || !o.statefulSet) return { kind: 'none' };
  if (o.statefulSet.deleting) return { kind: 'wait', reason: 'statefulSetDeleting' };
  const grow = claimsToGrow(o);
  const refused = grow.filter((c) => classOf(o, c) === 'fixed' || classOf(o, c) === 'missing');
  if (refused.length > 0) {
    const className = refused[0]!.className;
    const state = classOf(o, refused[0]!) as 'fixed' | 'missing';
    return { kind: 'refuse', className, state, claims: refused.filter((c) => c.className === className).map((c) => c.name), size: o.desired! };
  }
  if (!o.membershipIdle) return { kind: 'none' };
  const resizing = o.claims.find((c) => c.ordinal < o.statefulSet!.replicas && c.capacity !== undefined && smaller(c.capacity, bytesOf(c.requested) ?? 0n));
  if (resizing) return { kind: 'wait', reason: 'claimResizing', claim: resizing.name, requested: resizing.requested, capacity: resizing.capacity };
  const next = grow[0];
  if (next) return { kind: 'expandClaim', ordinal: next.ordinal, claim: next.name, from: next.requested, to: o.desired! };
  if (smaller(o.statefulSet.claimSize, want)) return { kind: 'recreateStatefulSet', replicas: o.statefulSet.replicas, from: o.statefulSet.claimSize, to: o.desired! };
  return { kind: 'none' };
}

function classOf(o: StorageObservation, c: ObservedClaim): ClassState {
  if (!c.className) return 'missing';
  return o.classes[c.className] ?? 'unknown';
}
