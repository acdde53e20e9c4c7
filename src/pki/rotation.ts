/**
 * CA rotation with trust overlap. Pure: the phase is derived on every pass from what the Secrets
 * hold (and whether the members' roll is done), never remembered, so a crash anywhere resumes.
 *
 * In words, with `old` the CA members trust and `next` the CA that replaces it:
 *  1. widen: every leaf keeps its certificate and key, its bundle (ca.crt) becomes old + next.
 *     etcd reads its trusted CA only at start, so members roll (one at a time, leader last).
 *  2. reissue: once rolled, every leaf is issued from next, bundle still old + next. Members roll
 *     again, so that each one serves the new leaves whatever the kubelet's volume refresh lag.
 *  3. promote (operator CA only): the CA Secret becomes next; `<name>-ca-next` still holds it.
 *  4. narrow: every bundle becomes next alone; a third roll drops the old CA from the members.
 *  5. finish (operator CA only): `<name>-ca-next` is deleted.
 * The operator's client certificate is signed by old until every member trusts next, then by
 * next while every member still trusts old: it is accepted at every step.
 */
import { type LeafFacts, type Problem, issuedBy } from './inspect.js';
import { type LeafKind, leafKinds } from './profiles.js';

export type RotationStep =
  | { kind: 'widen'; leaves: LeafKind[] }
  | { kind: 'awaitRoll'; phase: 'widened' | 'reissued' }
  | { kind: 'reissue'; leaves: LeafKind[] }
  | { kind: 'promote' }
  | { kind: 'narrow'; leaves: LeafKind[] }
  | { kind: 'finish' }
  | { kind: 'done' }
  | { kind: 'blocked'; problem: Problem<'CARotationBlocked'> };

export interface RotationView {
  oldPem: string;
  nextPem: string;
  leaves: Partial<Record<LeafKind, LeafFacts>>;
  /** The members run the template for the Secrets as they are, all pods ready (see the controller). */
  rolled: boolean;
  /** The operator's CA: a `-ca-next` Secret exists and is promoted into the CA Secret at the end. */
  operatorCa: boolean;
  /** The CA Secret already holds next (operator CA only). */
  promoted: boolean;
}

/** The PEM certificates of a bundle, as written. */
export function pemBlocks(pem: string | undefined): string[] {
  return (pem ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** The certificates of a bundle without white space, so bundles compare as sets. */
export function splitBundle(pem: string | undefined): string[] {
  return pemBlocks(pem).map((b) => b.replace(/\s+/g, ''));
}

const norm = (pem: string) => splitBundle(pem)[0] ?? '';

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** Trust text for the rotation: old followed by next, the bundle of the overlap phases. */
export function overlapBundle(oldPem: string, nextPem: string): string {
  return `${oldPem.trim()}\n${nextPem.trim()}\n`;
}

/** The single next step of a rotation under way; `done` when the Secrets hold next alone. */
export function planRotation(v: RotationView): RotationStep {
  const oldC = norm(v.oldPem);
  const nextC = norm(v.nextPem);
  const facts = leafKinds.map((kind) => ({ kind, leaf: v.leaves[kind] }));
  const missing = facts.filter((f) => !f.leaf).map((f) => f.kind);
  if (missing.length > 0) {
    const message = `a CA rotation is under way and the ${missing.join(', ')} certificate Secret(s) are missing or unusable: restore them; the rotation waits`;
    return { kind: 'blocked', problem: { reason: 'CARotationBlocked', message } };
  }
  const leaves = facts as { kind: LeafKind; leaf: LeafFacts }[];
  const bundleIs = (l: LeafFacts, certs: string[]) => sameSet(splitBundle(l.caPem), certs);
  const overlap = [oldC, nextC];
  const byNext = leaves.filter((f) => issuedBy(f.leaf, v.nextPem));
  const narrowed = leaves.filter((f) => bundleIs(f.leaf, [nextC]));
  const kinds = (xs: { kind: LeafKind }[]) => xs.map((x) => x.kind);

  if (byNext.length === leaves.length && narrowed.length === leaves.length) {
    // The CA Secret lost after the narrowing: it gets next back before the next-CA Secret goes.
    if (v.operatorCa && !v.promoted) return { kind: 'promote' };
    return v.operatorCa ? { kind: 'finish' } : { kind: 'done' };
  }
  // Past the reissue roll (some bundle already narrowed, or the CA promoted): carry on narrowing.
  if (byNext.length === leaves.length && (narrowed.length > 0 || v.promoted)) {
    if (v.operatorCa && !v.promoted) return { kind: 'promote' };
    // Nothing narrowed yet: the members must run the reissued leaves first (a rotation going back
    // to the CA Secret's CA reissues with it already there, so the promotion did not wait).
    if (narrowed.length === 0 && !v.rolled) return { kind: 'awaitRoll', phase: 'reissued' };
    return { kind: 'narrow', leaves: kinds(leaves.filter((f) => !bundleIs(f.leaf, [nextC]))) };
  }
  const widened = leaves.filter((f) => bundleIs(f.leaf, overlap));
  if (widened.length < leaves.length) {
    const unexpected = leaves.filter((f) => !bundleIs(f.leaf, overlap) && !bundleIs(f.leaf, [oldC]));
    if (unexpected.length > 0 || byNext.length > 0) {
      const message = `a CA rotation is under way but the ${kinds(unexpected.length > 0 ? unexpected : byNext).join(', ')} certificate(s) trust neither the old CA alone nor the old and new CAs: replace them with their backups; the rotation waits`;
      return { kind: 'blocked', problem: { reason: 'CARotationBlocked', message } };
    }
    return { kind: 'widen', leaves: kinds(leaves.filter((f) => !bundleIs(f.leaf, overlap))) };
  }
  // Every bundle is old + next. A reissue that started continues without waiting: it began rolled.
  if (byNext.length === 0) return v.rolled ? { kind: 'reissue', leaves: kinds(leaves) } : { kind: 'awaitRoll', phase: 'widened' };
  // The server leaf always among them: the members restart for what the server Secret holds
  // (memberTrustText), and only a restart makes sure no member still serves a leaf the CA being
  // left signed. Going forward it is the last one reissued anyway; going back it may not be.
  if (byNext.length < leaves.length) return { kind: 'reissue', leaves: kinds(leaves.filter((f) => f.kind === 'server' || !issuedBy(f.leaf, v.nextPem))) };
  if (!v.rolled) return { kind: 'awaitRoll', phase: 'reissued' };
  return v.operatorCa && !v.promoted ? { kind: 'promote' } : { kind: 'narrow', leaves: kinds(leaves) };
}

/**
 * What the member pods must restart for: the bundle they mount and, while it holds several CAs,
 * which of them signed their leaves (a reissue then rolls them too). With one CA it is the bundle
 * alone, the same value as before rotations existed, so an operator upgrade rolls nothing.
 */
export function memberTrustText(bundlePem: string, leaf: LeafFacts | undefined): string {
  const certs = pemBlocks(bundlePem);
  if (certs.length <= 1 || !leaf) return bundlePem;
  const signer = certs.findIndex((c) => issuedBy(leaf, c));
  return `${bundlePem}\nsigned-by:${signer}`;
}
