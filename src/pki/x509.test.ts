import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, issue, signCertificate } from './x509.js';

const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date('2027-01-01T00:00:00Z');

describe('x509', () => {
  it('issues a CA and a leaf that Node verifies, with SANs and usages', async () => {
    const ca = await issue({ commonName: 'test-ca', isCA: true, notBefore, notAfter, serialHex: '01' });
    const leaf = await issue(
      {
        commonName: 'etcd-0',
        dnsNames: ['etcd-0.etcd-peer.ns.svc', 'localhost'],
        ipAddresses: ['127.0.0.1'],
        usages: ['serverAuth', 'clientAuth'],
        notBefore,
        notAfter,
        serialHex: '0a1b',
      },
      ca,
    );
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
  });

  it('signs deterministically: same inputs, same certificate', async () => {
    const keys = await generateKeyPair();
    const spec = { commonName: 'x', usages: ['clientAuth' as const], notBefore, notAfter, serialHex: '02' };
    const a = signCertificate(spec, keys.publicKeyPem, { selfSigningKeyPem: keys.privateKeyPem });
    const b = signCertificate(spec, keys.publicKeyPem, { selfSigningKeyPem: keys.privateKeyPem });
    expect(a).toBe(b);
  });

  it('refuses a negative serial and a malformed IP SAN', async () => {
    const keys = await generateKeyPair();
    const self = { selfSigningKeyPem: keys.privateKeyPem };
    expect(() => signCertificate({ commonName: 'x', notBefore, notAfter, serialHex: 'ff' }, keys.publicKeyPem, self)).toThrow(/positive/);
    expect(() =>
      signCertificate({ commonName: 'x', ipAddresses: ['not-an-ip'], notBefore, notAfter, serialHex: '01' }, keys.publicKeyPem, self),
    ).toThrow(/not an IP/);
  });
});
