import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LeafFacts, inspectLeaf, issuedBy } from './inspect.js';
import { issueCa, issueLeaf } from './issue.js';
import { backdateMs, checkPolicy, leafValidity, renewalReason } from './policy.js';
import { leafProfile } from './profiles.js';
import { buildTlsSecret } from './secrets.js';
import type { CertificateAndKey } from './x509.js';

const hour = 3600_000;
const day = 24 * hour;
const policy = { validityMs: 90 * day, renewBeforeMs: 30 * day };
const cluster = { name: 'db', namespace: 'prod', clusterDomain: 'cluster.local' };
const owner = { apiVersion: 'etcd.example.com/v1alpha1', kind: 'EtcdCluster', name: 'db', uid: 'u1', controller: true };
const now = new Date('2026-03-01T00:00:00Z');

let ca: CertificateAndKey;
let caFacts: { certPem: string; cert: X509Certificate };
let leaf: LeafFacts;

beforeAll(async () => {
  ca = await issueCa(cluster, policy, now);
  caFacts = { certPem: ca.certPem, cert: new X509Certificate(ca.certPem) };
  const material = await issueLeaf(leafProfile(cluster, 'server'), ca, new Date(now.getTime() + 3650 * day), policy, now);
  leaf = inspectLeaf(buildTlsSecret(cluster, 'db-server-tls', material, ca.certPem, owner))!;
});

describe('validity', () => {
  it('backdates notBefore for clock skew and caps a leaf at its CA expiry', () => {
    const far = leafValidity(now, policy, new Date(now.getTime() + 1000 * day));
    expect(far.notBefore.getTime()).toBe(now.getTime() - backdateMs);
    expect(far.notAfter.getTime()).toBe(now.getTime() + policy.validityMs);
    const caEnd = new Date(now.getTime() + 10 * day);
    expect(leafValidity(now, policy, caEnd).notAfter).toEqual(caEnd);
  });

  it('issues what the policy says', () => {
    expect(leaf.notAfter.getTime()).toBe(now.getTime() + policy.validityMs);
  });

  it('rejects a policy under which a fresh certificate is already due', () => {
    expect(checkPolicy(policy)).toBeUndefined();
    expect(checkPolicy({ validityMs: day, renewBeforeMs: day })?.reason).toBe('InvalidTLSPolicy');
    expect(checkPolicy({ validityMs: day, renewBeforeMs: 0 })?.reason).toBe('InvalidTLSPolicy');
    expect(checkPolicy({ validityMs: Number.NaN, renewBeforeMs: hour })?.reason).toBe('InvalidTLSPolicy');
  });

  it('rejects a CA validity under twice renewBefore: a new CA would be due for rotation as a rotation ends', () => {
    const min = 60_000;
    expect(checkPolicy({ validityMs: 2 * min, renewBeforeMs: 90_000, caValidityMs: 3 * min })).toBeUndefined();
    expect(checkPolicy({ validityMs: 2 * min, renewBeforeMs: 90_000, caValidityMs: 3 * min - 1 })).toMatchObject({ reason: 'InvalidTLSPolicy', message: 'caValidity must be at least twice renewBefore' });
    expect(checkPolicy({ validityMs: 2 * min, renewBeforeMs: 90_000, caValidityMs: 0 })?.reason).toBe('InvalidTLSPolicy');
  });
});

describe('renewal decision', () => {
  const profile = () => leafProfile(cluster, 'server');
  const at = (ms: number) => new Date(now.getTime() + ms);

  it('keeps a certificate until notAfter - renewBefore, then renews', () => {
    expect(renewalReason(leaf, profile(), caFacts, policy, now)).toBeUndefined();
    expect(renewalReason(leaf, profile(), caFacts, policy, at(60 * day - 1))).toBeUndefined();
    expect(renewalReason(leaf, profile(), caFacts, policy, at(60 * day))).toBe('Expiring');
    expect(renewalReason(leaf, profile(), caFacts, policy, at(100 * day))).toBe('Expiring');
  });

  it('renews when the SANs or usages wanted change', () => {
    expect(renewalReason(leaf, { ...profile(), dnsNames: ['other'] }, caFacts, policy, now)).toBe('ProfileChanged');
    expect(renewalReason(leaf, { ...profile(), ipAddresses: [] }, caFacts, policy, now)).toBe('ProfileChanged');
    expect(renewalReason(leaf, { ...profile(), usages: ['serverAuth'] }, caFacts, policy, now)).toBe('ProfileChanged');
    expect(renewalReason(leaf, { ...profile(), commonName: 'x' }, caFacts, policy, now)).toBe('ProfileChanged');
    // order of names does not matter
    expect(renewalReason(leaf, { ...profile(), dnsNames: [...profile().dnsNames].reverse() }, caFacts, policy, now)).toBeUndefined();
  });

  it('renews when the CA changed, or the bundle beside the leaf is not the CA', async () => {
    const other = await issueCa(cluster, policy, now);
    const otherFacts = { certPem: other.certPem, cert: new X509Certificate(other.certPem) };
    expect(renewalReason(leaf, profile(), otherFacts, policy, now)).toBe('IssuerChanged');
    expect(renewalReason({ ...leaf, caPem: other.certPem }, profile(), caFacts, policy, now)).toBe('IssuerChanged');
  });

  it('renews an unusable certificate', () => {
    expect(renewalReason(undefined, profile(), caFacts, policy, now)).toBe('Invalid');
  });
});

describe('leaf facts and the issuer check, remembered by text', () => {
  it('the same Secret texts give the same frozen facts; another CA does not verify the leaf', async () => {
    const material = await issueLeaf(leafProfile(cluster, 'server'), ca, new Date(now.getTime() + 3650 * day), policy, now);
    const secret = buildTlsSecret(cluster, 'db-server-tls', material, ca.certPem, owner);
    const first = inspectLeaf(secret)!;
    expect(inspectLeaf(structuredClone(secret))).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.dnsNames)).toBe(true);
    const other = await issueCa({ ...cluster, name: 'other' }, policy, now);
    expect(issuedBy(first, ca.certPem)).toBe(true);
    expect(issuedBy(first, other.certPem)).toBe(false);
    expect(renewalReason(first, leafProfile(cluster, 'server'), { certPem: other.certPem, cert: new X509Certificate(other.certPem) }, policy, now)).toBe('IssuerChanged');
  });
});
