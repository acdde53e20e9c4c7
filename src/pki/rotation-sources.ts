/**
 * Which Secrets a rotation of the operator's CA goes on from, when one of its two CA Secrets is
 * gone. Pure. The rotation never needs the old CA's key: widening and narrowing rewrite bundles,
 * the reissue signs with the next CA, and the old CA's certificate lives on in every bundle. What
 * it needs is the next CA and the proof that members may trust it.
 *
 * Per phase (what the leaves hold) and per Secret lost:
 *
 *   phase                          | CA Secret lost                     | next-CA Secret lost
 *   -------------------------------+------------------------------------+---------------------------------
 *   started (no bundle holds next) | blocked: restore the CA Secret     | no rotation seen (nothing trusts next)
 *   widening                       | carry on from next                 | bundles reissued back (plan.ts)
 *   widened                        | carry on from next                 | go back to the CA Secret's CA
 *   reissuing/reissued             | carry on from next                 | go back to the CA Secret's CA
 *   promoted (CA Secret = next)    | carry on: promote again            | carry on from the CA Secret
 *   narrowing                      | carry on: promote again            | narrowed by the plan's reissue
 *   both lost                      | blocked: CASecretMissing (plan.ts) |
 *
 * A CA Secret of ours whose CA expired mid-rotation counts as lost once a bundle holds next (the
 * promotion replaces it); before that the plan reports the expired CA, as without a rotation.
 *
 * "Carry on from next" rests on a bundle of ours holding the next CA: only the widening step
 * writes it there, so the operator already chose it and the members trust it or are rolling to
 * it. Before that, the next CA is vouched for by its Secret alone, and no member trusts it: the
 * operator does not make members trust a CA on that word while the CA they do trust is gone.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { names } from '../resources/names.js';
import { type CaFacts, type LeafFacts, type Problem, inspectCa, inspectLeaf, issuedBy, ownedBy } from './inspect.js';
import { type PkiCluster, leafKinds } from './profiles.js';
import { pemBlocks, splitBundle } from './rotation.js';

export type OperatorRotationSource =
  | { kind: 'none' }
  /**
   * `signer`: the Secret holding next; `promoted`: the CA Secret holds it; `nextSecret`: `-ca-next`
   * exists; `back`: the rotation goes back to the CA Secret's CA, its next CA lost (goingBack).
   */
  | { kind: 'rotate'; next: CaFacts; signer: V1Secret; promoted: boolean; nextSecret: boolean; back?: boolean }
  | { kind: 'blocked'; problem: Problem<'CARotationBlocked'> };

interface Observed {
  ca?: V1Secret;
  next?: V1Secret;
  leaves: Partial<Record<(typeof leafKinds)[number], V1Secret>>;
}

/** Our leaves, parsed; undefined when one is missing, foreign or unusable. */
function ourLeaves(observed: Observed, ownerUid: string): LeafFacts[] | undefined {
  const facts = leafKinds.map((kind) => {
    const s = observed.leaves[kind];
    return s && ownedBy(s, ownerUid) ? inspectLeaf(s) : undefined;
  });
  return facts.every((f) => f !== undefined) ? facts : undefined;
}

const holds = (bundle: string | undefined, caPem: string) => splitBundle(bundle).includes(splitBundle(caPem)[0] ?? '');

/** A server or peer bundle of ours holds `caPem`: the widening wrote it there. */
function widenedTo(observed: Observed, ownerUid: string, caPem: string): boolean {
  return (['server', 'peer'] as const).some((kind) => {
    const s = observed.leaves[kind];
    return s !== undefined && ownedBy(s, ownerUid) && holds(inspectLeaf(s)?.caPem, caPem);
  });
}

/**
 * After the promotion, with no narrowing yet: every leaf of ours issued by the CA Secret's CA, and
 * every bundle the same two CAs, that one second (overlapBundle writes old, then next). Widened
 * but not promoted, the CA Secret's CA comes first: its next CA is lost (goingBack, below).
 * An edit of one Secret never looks like this.
 */
function promotedState(observed: Observed, ownerUid: string, caPem: string): boolean {
  const leaves = ourLeaves(observed, ownerUid);
  if (!leaves) return false;
  const bundles = new Set(leaves.map((l) => splitBundle(l.caPem).join('\n')));
  const ca = splitBundle(caPem)[0];
  return bundles.size === 1 && leaves.every((l) => issuedBy(l, caPem) && pemBlocks(l.caPem).length === 2 && splitBundle(l.caPem)[1] === ca);
}

/**
 * Widened (or reissuing) when the next-CA Secret was lost: every bundle of ours is the CA Secret's
 * CA and one other, every leaf issued by one of the two. The other CA's key is gone, so the
 * rotation cannot go on to it; it goes back instead, as a rotation to the CA Secret's CA: leaves
 * the lost CA signed are reissued from the CA Secret's (the bundles still trust both), members
 * roll, then the bundles narrow to it alone. Members trust both CAs all along, so no call is
 * refused, and the old CA's key signs everything that is issued. An unanswered rotate-ca token
 * then starts a new rotation, with a new next CA. A single edited Secret never looks like this.
 */
function goingBack(observed: Observed, ownerUid: string, caPem: string): boolean {
  const leaves = ourLeaves(observed, ownerUid);
  if (!leaves) return false;
  const bundles = new Set(leaves.map((l) => [...splitBundle(l.caPem)].sort().join('\n')));
  const pair = pemBlocks(leaves[0]!.caPem);
  return bundles.size === 1 && pair.length === 2 && holds(leaves[0]!.caPem, caPem) && leaves.every((l) => pair.some((ca) => issuedBy(l, ca)));
}

function problemOf(secret: V1Secret, now: Date): string | undefined {
  const found = inspectCa(secret, now);
  return 'problem' in found ? found.problem.reason : undefined;
}

export function operatorRotationSource(observed: Observed, cluster: PkiCluster, ownerUid: string, now: Date): OperatorRotationSource {
  const usable = (s: V1Secret | undefined) => {
    if (!s || !ownedBy(s, ownerUid)) return undefined;
    const found = inspectCa(s, now);
    return 'problem' in found ? undefined : found.ca;
  };
  const next = usable(observed.next);
  const current = usable(observed.ca);
  if (observed.next) {
    if (!next) return { kind: 'none' };
    if (current) return { kind: 'rotate', next, signer: observed.next, promoted: splitBundle(current.certPem)[0] === splitBundle(next.certPem)[0], nextSecret: true };
    // A CA Secret present but not usable is the plan's to report (decideCa). One of ours that
    // expired mid-rotation is as good as gone: its key signs nothing more, and none is needed.
    const expired = observed.ca && ownedBy(observed.ca, ownerUid) && problemOf(observed.ca, now) === 'CAExpired';
    if (observed.ca && !expired) return { kind: 'none' };
    if (widenedTo(observed, ownerUid, next.certPem)) return { kind: 'rotate', next, signer: observed.next, promoted: false, nextSecret: true };
    if (expired) return { kind: 'none' };
    const message =
      `Secret ${cluster.namespace}/${names.caSecret(cluster)} is gone while a CA rotation is under way, and no member trusts the next CA (Secret ${cluster.namespace}/${names.caNextSecret(cluster)}) yet: ` +
      'no certificate bundle holds it, and the operator does not make members trust a CA while the one they trust is gone. ' +
      `Restore Secret ${names.caSecret(cluster)} from a backup and the rotation resumes; nothing is written until then`;
    return { kind: 'blocked', problem: { reason: 'CARotationBlocked', message } };
  }
  if (current && promotedState(observed, ownerUid, current.certPem)) return { kind: 'rotate', next: current, signer: observed.ca!, promoted: true, nextSecret: false };
  // Past a reissue back, the state is the promoted one above (and is carried on the same way).
  if (current && goingBack(observed, ownerUid, current.certPem)) return { kind: 'rotate', next: current, signer: observed.ca!, promoted: true, nextSecret: false, back: true };
  return { kind: 'none' };
}
