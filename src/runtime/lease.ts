/** The part of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** MicroTime as the API server writes it: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Whether `identity` may take the lease now. The holder's own timestamps are not trusted (clocks
 * differ between nodes): a lease is expired when its record has not changed for a full lease
 * duration of our own clock, counted from when we first saw that record.
 */
export function mayAcquire(spec: LeaseSpec | undefined, identity: string, observedAt: number, now: number, leaseDurationMs: number): boolean {
  const holder = spec?.holderIdentity;
  if (!holder || holder === identity) return true;
  return now >= observedAt + leaseDurationMs;
}

/** The spec to write when `identity` takes or renews the lease. */
export function claimedSpec(old: LeaseSpec | undefined, identity: string, leaseDurationMs: number, wallNow: Date): LeaseSpec {
  const renewing = old?.holderIdentity === identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
    acquireTime: renewing ? (old.acquireTime ?? microTime(wallNow)) : microTime(wallNow),
    renewTime: microTime(wallNow),
    leaseTransitions: (old?.leaseTransitions ?? 0) + (renewing || !old ? 0 : 1),
  };
}

/** What a holder writes on graceful shutdown so a successor need not wait out the duration. */
export function releasedSpec(old: LeaseSpec | undefined, wallNow: Date): LeaseSpec {
  return { ...old, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(wallNow) };
}

/** Identity of a lease record, to notice when the holder renewed it. */
export function recordKey(spec: LeaseSpec | undefined): string {
  return `${spec?.holderIdentity ?? ''}|${spec?.renewTime ?? ''}|${spec?.leaseTransitions ?? 0}`;
}
