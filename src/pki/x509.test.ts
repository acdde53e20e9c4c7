import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as x509 from './peculiar.js';
import { tbsFields } from './testdata/der.js';
import { type CertificateAndKey, generateKeyPair, issue, signCertificate } from './x509.js';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2027-01-01T00:00:00Z');
const leafSpec = {
  commonName: 'etcd-0',
  dnsNames: ['etcd-0.etcd-peer.ns.svc', 'localhost'],
  ipAddresses: ['127.0.0.1'],
  usages: ['serverAuth' as const, 'clientAuth' as const],
  notBefore,
  notAfter,
  serialHex: '0a1b',
};

/** The signature algorithm's OID, as written in the certificate. */
const signatureOid = (pem: string) => new x509.X509Certificate(pem).signatureAlgorithm;

/** An RSA CA as a user brings one (spec.tls.caSecretRef). */
function rsaCa(): Promise<CertificateAndKey> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const spec = { commonName: 'user-rsa-ca', organizations: ['Example Ltd'], isCA: true, notBefore, notAfter, serialHex: '07' };
  return signCertificate(spec, publicKey.export({ type: 'spki', format: 'pem' }) as string, { selfSigningKeyPem: keyPem }).then((certPem) => ({ certPem, keyPem }));
}

describe('x509', () => {
  it('issues an ECDSA P-256 CA and leaf that Node verifies, with SANs and usages', async () => {
    const ca = await issue({ commonName: 'test-ca', isCA: true, notBefore, notAfter, serialHex: '01' });
    const leaf = await issue(leafSpec, ca);
    const caX = new X509Certificate(ca.certPem);
    const leafX = new X509Certificate(leaf.certPem);
    expect(caX.ca).toBe(true);
    expect(leafX.ca).toBe(false);
    expect(leafX.verify(caX.publicKey)).toBe(true);
    expect(leafX.checkIssued(caX)).toBe(true);
    expect(leafX.subjectAltName).toBe('DNS:etcd-0.etcd-peer.ns.svc, DNS:localhost, IP Address:127.0.0.1');
    expect(leafX.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(leafX.serialNumber).toBe('0A1B');
    expect(new Date(leafX.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(leafX.checkPrivateKey(createPrivateKey(leaf.keyPem))).toBe(true);
    for (const pair of [ca, leaf]) {
      const key = createPrivateKey(pair.keyPem);
      expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve]).toEqual(['ec', 'prime256v1']);
      expect(pair.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(signatureOid(pair.certPem)).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    }
    // Go chains by comparing the leaf's raw issuer with the CA's raw subject.
    expect(tbsFields(leaf.certPem).issuer.equals(tbsFields(ca.certPem).subject)).toBe(true);
  });

  it('gives a CA keyCertSign and a leaf with an EC key digitalSignature only (RFC 5480: no keyEncipherment)', async () => {
    const ca = await issue({ commonName: 'test-ca', isCA: true, notBefore, notAfter, serialHex: '01' });
    const leaf = await issue(leafSpec, ca);
    const usages = (pem: string) => new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension)!.usages;
    const { KeyUsageFlags: KU } = x509;
    expect(usages(ca.certPem)).toBe(KU.keyCertSign | KU.cRLSign | KU.digitalSignature);
    expect(usages(leaf.certPem)).toBe(KU.digitalSignature);
    const leafX = new x509.X509Certificate(leaf.certPem);
    const caX = new x509.X509Certificate(ca.certPem);
    expect(leafX.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(caX.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
  });

  it("signs an EC leaf with a user's RSA CA: sha256WithRSAEncryption, chained byte for byte", async () => {
    const ca = await rsaCa();
    expect(signatureOid(ca.certPem)).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    const leaf = await issue(leafSpec, ca);
    const leafX = new X509Certificate(leaf.certPem);
    expect(leafX.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(leafX.publicKey.asymmetricKeyType).toBe('ec');
    expect(signatureOid(leaf.certPem)).toMatchObject({ name: 'RSASSA-PKCS1-v1_5', hash: { name: 'SHA-256' } });
    expect(tbsFields(leaf.certPem).issuer.equals(tbsFields(ca.certPem).subject)).toBe(true);
  });

  it('signs with a randomized ECDSA signature: the same inputs give two valid, different certificates', async () => {
    // Nothing may rebuild a certificate to compare it with the one written (see plan.ts).
    const keys = await generateKeyPair();
    const spec = { commonName: 'x', usages: ['clientAuth' as const], notBefore, notAfter, serialHex: '02' };
    const a = await signCertificate(spec, keys.publicKeyPem, { selfSigningKeyPem: keys.privateKeyPem });
    const b = await signCertificate(spec, keys.publicKeyPem, { selfSigningKeyPem: keys.privateKeyPem });
    expect(a).not.toBe(b);
    for (const pem of [a, b]) expect(new X509Certificate(pem).verify(createPublicKey(keys.publicKeyPem))).toBe(true);
  });

  it('refuses a negative serial, a malformed IP SAN and a key that cannot sign', async () => {
    const keys = await generateKeyPair();
    const self = { selfSigningKeyPem: keys.privateKeyPem };
    await expect(signCertificate({ commonName: 'x', notBefore, notAfter, serialHex: 'ff' }, keys.publicKeyPem, self)).rejects.toThrow(/positive/);
    await expect(signCertificate({ commonName: 'x', ipAddresses: ['not-an-ip'], notBefore, notAfter, serialHex: '01' }, keys.publicKeyPem, self)).rejects.toThrow(
      /not an IP/,
    );
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await expect(signCertificate({ commonName: 'x', isCA: true, notBefore, notAfter, serialHex: '01' }, keys.publicKeyPem, { selfSigningKeyPem: ed })).rejects.toThrow(
      /cannot sign with a ed25519 key/,
    );
  });
});
