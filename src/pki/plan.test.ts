import { generateKeyPairSync } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { executeCertificatePlan } from './issue.js';
import { type ObservedPki, type PkiInputs, planCertificates, planIsEmpty } from './plan.js';
import { inspectLeaf } from './inspect.js';
import { leafKinds } from './profiles.js';
import { memberTrustText } from './rotation.js';
import { observeSecrets } from './testdata/observe.js';
import { type CertificateAndKey, issue } from './x509.js';

const day = 24 * 3600_000;
const cluster = { name: 'db', namespace: 'prod', clusterDomain: 'cluster.local' };
const policy = { validityMs: 90 * day, renewBeforeMs: 30 * day };
const inputs: PkiInputs = { cluster, ownerUid: 'uid-1', policy, trustInUse: false };
const owner = { apiVersion: 'etcd.example.com/v1alpha1', kind: 'EtcdCluster', name: 'db', uid: 'uid-1', controller: true, blockOwnerDeletion: true };
const now = new Date('2026-03-01T00:00:00Z');
const later = (days: number) => new Date(now.getTime() + days * day);
const b64 = (s: string) => Buffer.from(s).toString('base64');
/** What the member pods' template hashes: members restart exactly when it changes. */
const trustOf = (secrets: V1Secret[]) => {
  const server = secrets.find((s) => s.metadata?.name === 'db-server-tls')!;
  return memberTrustText(Buffer.from(server.data!['ca.crt']!, 'base64').toString(), inspectLeaf(server));
};

/** What the API server would hand back on the next pass: the Secrets the last pass applied. */
const observe = (secrets: V1Secret[], ca?: V1Secret): ObservedPki => observeSecrets(cluster, secrets, ca);

function userSecret(data: Record<string, string>, name = 'my-ca'): V1Secret {
  return { metadata: { name, namespace: 'prod' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

let first: V1Secret[];
let userCa: CertificateAndKey;

beforeAll(async () => {
  first = await executeCertificatePlan(planCertificates({ leaves: {} }, inputs, now), { leaves: {} }, inputs, owner, now);
  userCa = await issue({ commonName: 'user-ca', isCA: true, notBefore: later(-1), notAfter: later(3650), serialHex: '01' });
}, 60_000);

describe('planCertificates, operator CA', { timeout: 60_000 }, () => {
  it('issues a CA and every leaf on the first pass, and reports nothing', () => {
    const plan = planCertificates({ leaves: {} }, inputs, now);
    expect(plan.ca).toEqual({ source: 'operator', secretName: 'db-ca', action: 'issue', reason: 'Missing' });
    expect(plan.issue.map((i) => [i.kind, i.reason])).toEqual(leafKinds.map((k) => [k, 'Missing']));
    expect(plan.problems).toEqual([]);
    expect(first.map((s) => s.metadata?.name)).toEqual(['db-ca', 'db-server-tls', 'db-peer-tls', 'db-operator-client-tls', 'db-client-tls']);
  });

  it('is idempotent: a second pass with nothing due writes nothing and says when to look again', async () => {
    const plan = planCertificates(observe(first), inputs, later(1));
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue).toEqual([]);
    expect(plan.problems).toEqual([]);
    expect(planIsEmpty(plan)).toBe(true);
    // The leaves' renewal comes first; the CA's (3650 - 30 days) would come later.
    expect(plan.nextRenewalAt).toEqual(later(60));
    expect(await executeCertificatePlan(plan, observe(first), inputs, owner, later(1))).toEqual([]);
  });

  it('renews the leaves once due, with the same CA, and needs no member restart', async () => {
    const plan = planCertificates(observe(first), inputs, later(60));
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue.map((i) => i.reason)).toEqual(['Expiring', 'Expiring', 'Expiring', 'Expiring']);
    const renewed = await executeCertificatePlan(plan, observe(first), inputs, owner, later(60));
    expect(renewed.map((s) => s.metadata?.name)).not.toContain('db-ca');
    expect(trustOf(renewed)).toBe(trustOf(first));
    expect(renewed.every((s) => s.data?.['ca.crt'] === first[0]!.data?.['ca.crt'])).toBe(true);
    expect(planIsEmpty(planCertificates(observe([first[0]!, ...renewed]), inputs, later(61)))).toBe(true);
  });

  it('reissues a leaf of ours that is corrupt, but reports and keeps one it does not control', () => {
    const [ca, server, peer, ...rest] = first;
    const corrupt = { ...server!, data: { ...server!.data, 'tls.key': b64('garbage') } };
    const foreign = { ...peer!, metadata: { ...peer!.metadata, ownerReferences: [] } };
    const plan = planCertificates(observe([ca!, corrupt, foreign, ...rest]), inputs, later(1));
    expect(plan.issue).toEqual([{ kind: 'server', secretName: 'db-server-tls', reason: 'Invalid' }]);
    expect(plan.problems).toEqual([{ reason: 'SecretNotOwned', message: expect.stringContaining('prod/db-peer-tls') as string }]);
  });

  it('does not touch an operator CA Secret it does not control', () => {
    const foreign = { ...first[0]!, metadata: { ...first[0]!.metadata, ownerReferences: [] } };
    const plan = planCertificates(observe(first, foreign), inputs, later(1));
    expect(plan.ca.action).toBe('blocked');
    expect(plan.problems.map((p) => p.reason)).toEqual(['SecretNotOwned']);
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('replaces its own expired CA and every leaf, and the members restart for it (trust changes)', async () => {
    const plan = planCertificates(observe(first), inputs, later(3651));
    expect(plan.ca).toMatchObject({ action: 'issue', reason: 'Expired' });
    expect(plan.issue.map((i) => i.reason)).toEqual(['IssuerChanged', 'IssuerChanged', 'IssuerChanged', 'IssuerChanged']);
    expect(trustOf(await executeCertificatePlan(plan, observe(first), inputs, owner, later(3651)))).not.toBe(trustOf(first));
  });

  it('says when the CA falls due even when no leaf is its to renew', () => {
    const foreign = first.slice(1).map((s) => ({ ...s, metadata: { ...s.metadata, ownerReferences: [] } }));
    const plan = planCertificates(observe([first[0]!, ...foreign]), inputs, later(1));
    expect(plan.problems.map((p) => p.reason)).toEqual(['SecretNotOwned', 'SecretNotOwned', 'SecretNotOwned', 'SecretNotOwned']);
    expect(plan.nextRenewalAt).toEqual(later(3650 - 30));
  });

  it('reports a CA about to expire instead of renewing leaves in a loop', () => {
    const plan = planCertificates(observe(first), inputs, later(3650 - 20));
    expect(plan.problems.map((p) => p.reason)).toEqual(['CAExpiringSoon']);
    expect(plan.issue).toEqual([]);
  });

  it('reports a policy that would reissue on every pass, and writes nothing', () => {
    const plan = planCertificates({ leaves: {} }, { ...inputs, policy: { validityMs: day, renewBeforeMs: 2 * day } }, now);
    expect(plan.problems.map((p) => p.reason)).toEqual(['InvalidTLSPolicy']);
    expect(planIsEmpty(plan)).toBe(true);
  });
});

describe('planCertificates, members already trust the CA', () => {
  const inUse: PkiInputs = { ...inputs, trustInUse: true };
  const withCa = (data: Record<string, string> | undefined, owned = true) =>
    data === undefined ? undefined : { ...userSecret(data, 'db-ca'), metadata: { name: 'db-ca', namespace: 'prod', ownerReferences: owned ? [owner] : [] } };

  type Row = [string, () => V1Secret | undefined, string, RegExp, number?];
  it.each<Row>([
    ['deleted', () => undefined, 'CASecretMissing', /^Secret prod\/db-ca does not exist\. Members trust the CA in ca\.crt of Secret prod\/db-server-tls: restore/],
    ['without its key', () => withCa({ 'tls.crt': b(first[0]!, 'tls.crt') }), 'CASecretMalformed', /needs both tls.crt and tls.key.*restore that CA/],
    ['with a key of another CA', () => withCa({ 'tls.crt': b(first[0]!, 'tls.crt'), 'tls.key': userCa.keyPem }), 'CAKeyMismatch', /does not match.*restore that CA/],
    ['expired', () => first[0], 'CAExpired', /expired at.*never mints a new CA/, 3651],
    ['replaced by another valid CA', () => withCa({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem }), 'CAChanged', /holds another CA than the one members trust/],
  ])('keeps what members trust when the operator CA Secret is %s: reports, issues nothing', (_, secret, reason, message, days = 1) => {
    const observed = { ...observe(first), ca: secret() };
    // A missing leaf would need the CA too: it is reported through the CA, not issued from a new one.
    delete observed.leaves.userClient;
    const plan = planCertificates(observed, inUse, later(days));
    expect(plan.ca.action).toBe('blocked');
    expect(plan.problems).toEqual([{ reason, message: expect.stringMatching(message) as string }]);
    expect(plan.issue).toEqual([]);
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('still renews leaves from the CA members trust', () => {
    const plan = planCertificates(observe(first), inUse, later(60));
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue.map((i) => i.reason)).toEqual(['Expiring', 'Expiring', 'Expiring', 'Expiring']);
    expect(plan.problems).toEqual([]);
  });

  it('still reports a CA Secret it does not control, and never writes it', () => {
    const plan = planCertificates({ ...observe(first), ca: withCa({ 'tls.crt': b(first[0]!, 'tls.crt'), 'tls.key': b(first[0]!, 'tls.key') }, false) }, inUse, later(1));
    expect(plan.problems.map((p) => p.reason)).toEqual(['SecretNotOwned']);
    expect(planIsEmpty(plan)).toBe(true);
  });

  it('tells how to recover a user CA Secret that members trust and that is gone', () => {
    const plan = planCertificates({ ...observe(first), ca: undefined }, { ...inUse, caSecretRef: { name: 'my-ca' } }, now);
    expect(plan.problems).toEqual([{ reason: 'CASecretMissing', message: expect.stringMatching(/^Secret prod\/my-ca named by spec.tls.caSecretRef does not exist\. Members trust .*restore/) as string }]);
    expect(planIsEmpty(plan)).toBe(true);
  });

  // Before: CAChanged, blaming the intact CA Secret and asking to restore the foreign CA; the
  // server case also moved the members' trust hash, rolling them onto the foreign bundle.
  it.each(['server', 'peer'] as const)('puts back a %s Secret edited to a certificate and bundle of another CA, and blames no CA', async (kind) => {
    const foreign = await issue({ commonName: 'db', usages: ['serverAuth'], notBefore: later(-1), notAfter: later(80), serialHex: '0a' }, userCa);
    const name = `db-${kind}-tls`;
    const edited = first.map((s) => (s.metadata?.name === name ? { ...s, data: { 'tls.crt': b64(foreign.certPem), 'tls.key': b64(foreign.keyPem), 'ca.crt': b64(userCa.certPem) } } : s));
    const plan = planCertificates(observe(edited), inUse, later(1));
    expect(plan.problems).toEqual([]);
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue).toEqual([{ kind, secretName: name, reason: 'IssuerChanged' }]);
    const [fixed] = await executeCertificatePlan(plan, observe(edited), inUse, owner, later(1));
    expect(b(fixed!, 'ca.crt')).toBe(b(first[0]!, 'tls.crt'));
    expect(trustOf(edited.map((s) => (s.metadata?.name === name ? fixed! : s)))).toBe(trustOf(first));
  });

  it.each(['server', 'peer'] as const)('with a user CA too: a %s Secret edited to another CA is no rotation, it is reissued', async (kind) => {
    const withRef = { ...inUse, caSecretRef: { name: 'my-ca' } };
    const ca = userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem });
    const mine = await executeCertificatePlan(planCertificates({ ca, leaves: {} }, { ...withRef, trustInUse: false }, now), { ca, leaves: {} }, withRef, owner, now);
    const other = first.find((s) => s.metadata?.name === `db-${kind}-tls`)!;
    const edited = mine.map((s) => (s.metadata?.name === other.metadata?.name ? { ...s, data: other.data } : s));
    const plan = planCertificates(observe(edited, ca), withRef, later(1));
    expect(plan.problems).toEqual([]);
    expect(plan.rotation).toBeUndefined();
    expect(plan.issue).toEqual([{ kind, secretName: `db-${kind}-tls`, reason: 'IssuerChanged' }]);
  });

  // Before: blocked too, but blaming every leaf ("trust neither the old CA alone nor the old and
  // new CAs: replace them with their backups"), which sends a person to the wrong repair.
  it('a user CA changed again while a rotation to it is under way: blocked, naming the CAs, nothing written', async () => {
    const withRef = { ...inUse, caSecretRef: { name: 'my-ca' } };
    const next = userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem });
    const widen = planCertificates(observe(first, next), withRef, now);
    const written = await executeCertificatePlan(widen, observe(first, next), withRef, owner, now);
    const widened = first.map((s) => written.find((w) => w.metadata?.name === s.metadata?.name) ?? s);
    const third = await issue({ commonName: 'third-ca', isCA: true, notBefore: later(-1), notAfter: later(3650), serialHex: '0b' });
    const plan = planCertificates(observe(widened, userSecret({ 'tls.crt': third.certPem, 'tls.key': third.keyPem })), withRef, later(1));
    expect(plan.problems).toEqual([{ reason: 'CARotationBlocked', message: expect.stringMatching(/^Secret prod\/my-ca now holds a CA \(CN=third-ca\) that members do not trust, while a rotation between the CAs they trust \(.+ and CN=user-ca\) is under way: put back one of those two CAs/) as string }]);
    expect(planIsEmpty(plan)).toBe(true);
    // Put back, the rotation goes on where it was.
    expect(planCertificates(observe(widened, next), withRef, later(1)).rotation?.step).toEqual({ kind: 'awaitRoll', phase: 'widened' });
  });

  it('does not switch at once to a user CA whose content changed under running members: it widens trust first', () => {
    const plan = planCertificates(observe(first, userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem })), { ...inUse, caSecretRef: { name: 'my-ca' } }, now);
    expect(plan.problems).toEqual([]);
    expect(plan.issue).toEqual([]);
    expect(plan.rotation?.step).toEqual({ kind: 'widen', leaves: leafKinds });
  });
});

describe('planCertificates, user CA', { timeout: 60_000 }, () => {
  const withRef: PkiInputs = { ...inputs, caSecretRef: { name: 'my-ca' } };

  it('signs with a valid user CA and never writes the user Secret', async () => {
    const observed = { ca: userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem }), leaves: {} };
    const plan = planCertificates(observed, withRef, now);
    expect(plan.ca).toEqual({ source: 'user', secretName: 'my-ca', action: 'keep' });
    expect(plan.problems).toEqual([]);
    const secrets = await executeCertificatePlan(plan, observed, withRef, owner, now);
    expect(secrets.map((s) => s.metadata?.name)).toEqual(['db-server-tls', 'db-peer-tls', 'db-operator-client-tls', 'db-client-tls']);
    expect(Buffer.from(secrets[0]!.data!['ca.crt']!, 'base64').toString()).toBe(userCa.certPem);
    expect(planIsEmpty(planCertificates(observe(secrets, observed.ca), withRef, later(1)))).toBe(true);
  });

  it('moving from the operator CA to a user CA reissues every leaf, and the members restart for it', async () => {
    const observed = observe(first, userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem }));
    const plan = planCertificates(observed, withRef, now);
    expect(plan.issue.map((i) => i.reason)).toEqual(['IssuerChanged', 'IssuerChanged', 'IssuerChanged', 'IssuerChanged']);
    expect(trustOf(await executeCertificatePlan(plan, observed, withRef, owner, now))).not.toBe(trustOf(first));
  });

  const otherKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const edKey = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  type Row = [string, (() => V1Secret) | undefined, string, RegExp, number?];
  it.each<Row>([
    ['missing', undefined, 'CASecretMissing', /does not exist/],
    ['without a key', () => userSecret({ 'tls.crt': userCa.certPem }), 'CASecretMalformed', /needs both tls.crt and tls.key/],
    ['with a bad certificate', () => userSecret({ 'tls.crt': 'nope', 'tls.key': userCa.keyPem }), 'CASecretMalformed', /not a PEM certificate/],
    ['with a bad key', () => userSecret({ 'tls.crt': userCa.certPem, 'tls.key': 'nope' }), 'CASecretMalformed', /not a PEM private key/],
    ['with a key of another certificate', () => userSecret({ 'tls.crt': userCa.certPem, 'tls.key': otherKey() }), 'CAKeyMismatch', /does not match/],
    ['with an Ed25519 key', () => userSecret({ 'tls.crt': userCa.certPem, 'tls.key': edKey() }), 'CAKeyUnsupported', /only RSA and ECDSA/],
    ['holding a leaf, not a CA', () => userSecret({ 'tls.crt': b(first[1]!, 'tls.crt'), 'tls.key': b(first[1]!, 'tls.key') }), 'CANotACertificateAuthority', /not a CA/],
    ['expired', () => userSecret({ 'tls.crt': userCa.certPem, 'tls.key': userCa.keyPem }), 'CAExpired', /expired at/, 3651],
  ])('reports a user CA Secret %s and writes nothing', (_, secret, reason, message, days = 0) => {
    const plan = planCertificates({ ca: secret?.(), leaves: observe(first).leaves }, withRef, later(days));
    expect(plan.ca.action).toBe('blocked');
    expect(plan.problems).toEqual([{ reason, message: expect.stringMatching(message) as string }]);
    expect(plan.problems[0]!.message).not.toMatch(/PRIVATE KEY/);
    expect(planIsEmpty(plan)).toBe(true);
  });
});

const b = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString();

