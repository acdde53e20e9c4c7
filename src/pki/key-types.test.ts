// Certificates of both key types side by side: the RSA Secrets clusters hold from before ECDSA
// (testdata: a full set issued by the RSA/node-forge code for db in prod on 2026-03-01) keep
// working, and a key type alone never reissues a certificate nor rolls a member.
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { inspectLeaf } from './inspect.js';
import { executeCertificatePlan } from './issue.js';
import * as x509 from './peculiar.js';
import { type ObservedPki, type PkiInputs, planCertificates, planIsEmpty } from './plan.js';
import { memberTrustText } from './rotation.js';
import { tbsFields } from './testdata/der.js';
import { observeSecrets } from './testdata/observe.js';
import { signCertificate } from './x509.js';

const day = 24 * 3600_000;
const cluster = { name: 'db', namespace: 'prod', clusterDomain: 'cluster.local' };
const policy = { validityMs: 90 * day, renewBeforeMs: 30 * day };
// A running cluster: members trust the CA in the bundles.
const inputs: PkiInputs = { cluster, ownerUid: 'uid-1', policy, trustInUse: true, membersRolled: true };
const owner = { apiVersion: 'etcd.example.com/v1alpha1', kind: 'EtcdCluster', name: 'db', uid: 'uid-1', controller: true, blockOwnerDeletion: true };
const issuedAt = new Date('2026-03-01T00:00:00Z');
const later = (days: number) => new Date(issuedAt.getTime() + days * day);
const text = (s: V1Secret, key: string) => Buffer.from(s.data![key]!, 'base64').toString();
const rsaSet = JSON.parse(readFileSync(new URL('./testdata/rsa-set-2026-03-01.json', import.meta.url), 'utf8')) as V1Secret[];

const observe = (secrets: V1Secret[], ca?: V1Secret): ObservedPki => observeSecrets(cluster, secrets, ca);

/** What the API server holds after applying `written` over `before`. */
const apply = (before: V1Secret[], written: V1Secret[]) => before.map((s) => written.find((w) => w.metadata!.name === s.metadata!.name) ?? s);

const trustOf = (secrets: V1Secret[]) => {
  const server = secrets.find((s) => s.metadata?.name === 'db-server-tls')!;
  return memberTrustText(text(server, 'ca.crt'), inspectLeaf(server));
};
const keyTypeOf = (s: V1Secret) => createPrivateKey(text(s, 'tls.key')).asymmetricKeyType;
const signatureOf = (s: V1Secret) => (new x509.X509Certificate(text(s, 'tls.crt')).signatureAlgorithm as unknown as { name: string }).name;

describe('RSA certificates from before ECDSA', { timeout: 60_000 }, () => {
  it('are RSA throughout (the fixture is what an existing cluster holds)', () => {
    expect(rsaSet.map(keyTypeOf)).toEqual(['rsa', 'rsa', 'rsa', 'rsa', 'rsa']);
  });

  it('are kept as they are while valid: no reissue, no problem, nothing written', () => {
    for (const at of [later(1), later(59)]) {
      const plan = planCertificates(observe(rsaSet), inputs, at);
      expect(plan.problems).toEqual([]);
      expect(plan.ca.action).toBe('keep');
      expect(planIsEmpty(plan)).toBe(true);
    }
  });

  it('renew, when due, as EC leaves signed by the RSA CA: the bundle and the members stay as they were', async () => {
    const at = later(61);
    const plan = planCertificates(observe(rsaSet), inputs, at);
    expect(plan.ca.action).toBe('keep');
    expect(plan.issue.map((i) => i.reason)).toEqual(['Expiring', 'Expiring', 'Expiring', 'Expiring']);
    const written = await executeCertificatePlan(plan, observe(rsaSet), inputs, owner, at);
    expect(written.map(keyTypeOf)).toEqual(['ec', 'ec', 'ec', 'ec']);
    expect(written.map(signatureOf)).toEqual(Array(4).fill('RSASSA-PKCS1-v1_5'));
    const caX = new X509Certificate(text(rsaSet[0]!, 'tls.crt'));
    for (const s of written) {
      expect(new X509Certificate(text(s, 'tls.crt')).verify(caX.publicKey)).toBe(true);
      expect(text(s, 'ca.crt')).toBe(text(rsaSet[0]!, 'tls.crt'));
      // The issuer name as node-forge encoded it, byte for byte: Go chains by comparing bytes.
      expect(tbsFields(text(s, 'tls.crt')).issuer.equals(tbsFields(text(rsaSet[0]!, 'tls.crt')).subject)).toBe(true);
    }
    const after = apply(rsaSet, written);
    expect(trustOf(after)).toBe(trustOf(rsaSet));
    expect(planIsEmpty(planCertificates(observe(after), inputs, later(62)))).toBe(true);
  });

  it('a requested CA rotation from the RSA CA mints an EC CA', async () => {
    const plan = planCertificates(observe(rsaSet), { ...inputs, rotateToken: 't1' }, later(1));
    expect(plan.rotation?.step.kind).toBe('start');
    const [next] = await executeCertificatePlan(plan, observe(rsaSet), { ...inputs, rotateToken: 't1' }, owner, later(1));
    expect(next!.metadata!.name).toBe('db-ca-next');
    expect(keyTypeOf(next!)).toBe('ec');
  });
});

describe("a user's RSA CA (spec.tls.caSecretRef)", { timeout: 60_000 }, () => {
  it('signs EC leaves with sha256WithRSAEncryption, and a second pass writes nothing', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const spec = { commonName: 'user-rsa-ca', isCA: true, notBefore: later(-1), notAfter: later(3650), serialHex: '05' };
    const certPem = await signCertificate(spec, publicKey.export({ type: 'spki', format: 'pem' }) as string, { selfSigningKeyPem: keyPem });
    const caSecret: V1Secret = { metadata: { name: 'my-ca', namespace: 'prod' }, data: { 'tls.crt': btoa(certPem), 'tls.key': btoa(keyPem) } };
    const withRef = { ...inputs, trustInUse: false, caSecretRef: { name: 'my-ca' } };
    const plan = planCertificates({ ca: caSecret, leaves: {} }, withRef, issuedAt);
    expect(plan.problems).toEqual([]);
    const written = await executeCertificatePlan(plan, { ca: caSecret, leaves: {} }, withRef, owner, issuedAt);
    expect(written.map(keyTypeOf)).toEqual(['ec', 'ec', 'ec', 'ec']);
    expect(written.map(signatureOf)).toEqual(Array(4).fill('RSASSA-PKCS1-v1_5'));
    expect(planIsEmpty(planCertificates(observe(written, caSecret), { ...withRef, trustInUse: true }, later(1)))).toBe(true);
  });
});
