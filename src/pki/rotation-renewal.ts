/**
 * Leaves that reach their renewal time while a CA rotation waits for the members' roll. Pure.
 * The rotation's own steps write the leaves, but a roll can wait for long (a pod that never turns
 * Ready), and a leaf that ends meanwhile cuts its member off. Such a leaf is renewed from the CA
 * that issued it, with the bundle it already carries: what the rotation reads (each leaf's issuer
 * and bundle, rotation.ts) and what members restart for (memberTrustText: bundle and signer) stay
 * as they were, so no phase moves and nothing rolls; etcd serves the new leaf on new connections.
 *
 * Not renewed: a leaf of the old CA once its key is not held (a user CA replaced in place, or the
 * operator's CA Secret already promoted to next); and a leaf whose renewal would be due at once
 * because its CA ends within renewBefore (renewing then would loop every pass). CARotationOverdue
 * (rotation-deadline.ts) tells a person about those.
 */
import { type LeafFacts, issuedBy, parseCertificate } from './inspect.js';
import { type TlsPolicy, leafValidity, renewalTime } from './policy.js';
import { type LeafKind, leafKinds } from './profiles.js';

export interface LeafRenewal {
  kind: LeafKind;
  /** The CA that issued the leaf, and signs its renewal. */
  signer: 'old' | 'next';
}

export interface MidRotationView {
  leaves: Partial<Record<LeafKind, LeafFacts>>;
  oldPem: string;
  nextPem: string;
  /** The old CA's key is at hand: the operator's CA Secret, not yet promoted. */
  oldKeyHeld: boolean;
  policy: TlsPolicy;
  now: Date;
}

export function renewalsMidRotation(v: MidRotationView): { renew: LeafRenewal[]; nextRenewalAt?: Date } {
  const renew: LeafRenewal[] = [];
  let nextRenewalAt: Date | undefined;
  for (const kind of leafKinds) {
    const leaf = v.leaves[kind];
    if (!leaf) continue;
    const signer = issuedBy(leaf, v.nextPem) ? 'next' : issuedBy(leaf, v.oldPem) && v.oldKeyHeld ? 'old' : undefined;
    const caEnd = signer && parseCertificate(signer === 'next' ? v.nextPem : v.oldPem)?.validTo;
    if (!signer || !caEnd) continue;
    const due = renewalTime(leaf.notAfter, v.policy);
    if (v.now < due) {
      nextRenewalAt = nextRenewalAt === undefined || due < nextRenewalAt ? due : nextRenewalAt;
      continue;
    }
    const renewed = leafValidity(v.now, v.policy, new Date(caEnd)).notAfter;
    if (v.now < renewalTime(renewed, v.policy)) renew.push({ kind, signer });
  }
  return { renew, ...(nextRenewalAt ? { nextRenewalAt } : {}) };
}
