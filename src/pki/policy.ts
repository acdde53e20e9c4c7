/**
 * Validity and renewal policy. Pure: every function takes `now`.
 */
import type { X509Certificate } from 'node:crypto';
import { type LeafFacts, type Problem, issuedBy } from './inspect.js';
import type { LeafProfile } from './profiles.js';
import type { Usage } from './x509.js';

/** From the EtcdCluster's spec.tls, already converted from Go durations to milliseconds. */
export interface TlsPolicy {
  validityMs: number;
  renewBeforeMs: number;
  /** Validity of a CA the operator generates; default ten years. It is rotated `renewBeforeMs` ahead of expiry. */
  caValidityMs?: number;
}

export const defaultCaValidityMs = 10 * 365 * 24 * 3600_000;

/** Certificates start slightly in the past so that a member whose clock lags still accepts them. */
export const backdateMs = 5 * 60_000;

export type RenewalReason = 'Missing' | 'Invalid' | 'IssuerChanged' | 'ProfileChanged' | 'Expiring';

const usageOids: Record<Usage, string> = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' };

/** A policy under which a fresh certificate would already be due would reissue on every pass. */
export function checkPolicy(policy: TlsPolicy): Problem<'InvalidTLSPolicy'> | undefined {
  const { validityMs, renewBeforeMs } = policy;
  const caValidityMs = policy.caValidityMs ?? defaultCaValidityMs;
  if (!(validityMs > 0) || !(renewBeforeMs > 0) || !(caValidityMs > 0)) {
    return { reason: 'InvalidTLSPolicy', message: 'validity and renewBefore must be positive durations' };
  }
  if (renewBeforeMs >= validityMs) {
    return { reason: 'InvalidTLSPolicy', message: 'renewBefore must be shorter than validity' };
  }
  // A CA due for rotation within a renewBefore of its minting would rotate again as a rotation ends.
  if (caValidityMs < 2 * renewBeforeMs) {
    return { reason: 'InvalidTLSPolicy', message: 'caValidity must be at least twice renewBefore' };
  }
  return undefined;
}

/** A leaf never outlives its CA: a certificate past its issuer's expiry does not verify anyway. */
export function leafValidity(now: Date, policy: TlsPolicy, caNotAfter: Date): { notBefore: Date; notAfter: Date } {
  const notAfter = Math.min(now.getTime() + policy.validityMs, caNotAfter.getTime());
  return { notBefore: new Date(now.getTime() - backdateMs), notAfter: new Date(notAfter) };
}

export function caValidity(now: Date, policy: TlsPolicy): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - backdateMs), notAfter: new Date(now.getTime() + (policy.caValidityMs ?? defaultCaValidityMs)) };
}

/** When a certificate expiring at `notAfter` falls due. */
export function renewalTime(notAfter: Date, policy: TlsPolicy): Date {
  return new Date(notAfter.getTime() - policy.renewBeforeMs);
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function matchesProfile(leaf: LeafFacts, profile: LeafProfile): boolean {
  return (
    leaf.commonName === profile.commonName &&
    sameSet(leaf.dnsNames, profile.dnsNames) &&
    sameSet(leaf.ipAddresses, profile.ipAddresses) &&
    sameSet(leaf.extKeyUsages, profile.usages.map((u) => usageOids[u]))
  );
}

/**
 * Why a leaf must be reissued, or undefined when it is fine. `leaf` undefined means unusable.
 * Order matters only for the reason reported: the first that applies wins.
 */
export function renewalReason(
  leaf: LeafFacts | undefined,
  profile: LeafProfile,
  ca: { certPem: string; cert: X509Certificate },
  policy: TlsPolicy,
  now: Date,
): RenewalReason | undefined {
  if (!leaf) return 'Invalid';
  const signedByCa = issuedBy(leaf, ca.certPem);
  if (!signedByCa || leaf.caPem?.trim() !== ca.certPem.trim()) return 'IssuerChanged';
  if (!matchesProfile(leaf, profile)) return 'ProfileChanged';
  if (now >= renewalTime(leaf.notAfter, policy)) return 'Expiring';
  return undefined;
}
