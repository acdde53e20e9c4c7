import { createPrivateKey, generateKeyPair as generateKeyPairCallback, sign } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { KeyPool } from './key-pool.js';

const generateKeyPairAsync = promisify(generateKeyPairCallback);

/** PEM-encoded key pair. The private key is PKCS#8. */
export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A certificate with its private key, both PEM. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export type Usage = 'serverAuth' | 'clientAuth';

export interface CertificateSpec {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Extended key usages of a leaf; ignored for a CA. */
  usages?: Usage[];
  isCA?: boolean;
  notBefore: Date;
  notAfter: Date;
  /** Serial number as hex; must be positive (first nibble below 8). */
  serialHex: string;
}

export const RSA_KEY_BITS = 2048;

/**
 * RSA-2048 keys from OpenSSL through Node's thread pool: generation takes tens of milliseconds and
 * never runs on the event loop (node-forge's pure-JS generation takes seconds and would block it).
 * RSA rather than ECDSA because node-forge can only sign with RSA keys.
 */
export async function generateKeyPair(bits = RSA_KEY_BITS): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function subject(spec: CertificateSpec): forge.pki.CertificateField[] {
  const fields: forge.pki.CertificateField[] = (spec.organizations ?? []).map((o) => ({ name: 'organizationName', value: o }));
  fields.push({ name: 'commonName', value: spec.commonName });
  return fields;
}

function extensions(spec: CertificateSpec): object[] {
  if (spec.isCA) {
    return [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ];
  }
  const usages = spec.usages ?? [];
  const altNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(spec.ipAddresses ?? []).map((ip) => {
      if (isIP(ip) === 0) throw new Error(`not an IP address: ${ip}`);
      return { type: 7, ip };
    }),
  ];
  const exts: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: usages.includes('serverAuth'), clientAuth: usages.includes('clientAuth') },
    { name: 'subjectKeyIdentifier' },
  ];
  if (altNames.length > 0) exts.push({ name: 'subjectAltName', altNames });
  return exts;
}

/**
 * Builds and signs a certificate for `publicKeyPem`. Pure apart from its inputs: times and serial
 * come from the caller, and RSA PKCS#1 v1.5 signatures are deterministic, so equal inputs give an
 * equal certificate. Without `issuer` the certificate is self-signed with `selfSigningKeyPem`.
 */
export function signCertificate(
  spec: CertificateSpec,
  publicKeyPem: string,
  issuer: CertificateAndKey | { selfSigningKeyPem: string },
): string {
  if (!/^[0-7][0-9a-f]*$/i.test(spec.serialHex)) throw new Error(`serial must be positive hex: ${spec.serialHex}`);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = spec.serialHex;
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(subject(spec));
  const exts = extensions(spec);
  let signingKeyPem: string;
  if ('selfSigningKeyPem' in issuer) {
    cert.setIssuer(subject(spec));
    signingKeyPem = issuer.selfSigningKeyPem;
  } else {
    const issuerCert = forge.pki.certificateFromPem(issuer.certPem);
    cert.setIssuer(issuerCert.subject.attributes);
    signingKeyPem = issuer.keyPem;
    const ski = issuerCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | null;
    if (ski?.subjectKeyIdentifier) {
      exts.push({ name: 'authorityKeyIdentifier', keyIdentifier: forge.util.hexToBytes(ski.subjectKeyIdentifier) });
    }
  }
  cert.setExtensions(exts);
  signWithOpenSsl(cert, signingKeyPem);
  return forge.pki.certificateToPem(cert);
}

const forgeInternals = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

/**
 * What `cert.sign(key, sha256)` does, with the RSA operation done by OpenSSL: forge's JavaScript
 * RSA took 40-120 ms per certificate on the event loop under load; OpenSSL takes about 1 ms.
 * forge still builds the certificate; PKCS#1 v1.5 keeps the signature deterministic.
 */
function signWithOpenSsl(cert: forge.pki.Certificate, signingKeyPem: string): void {
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.tbsCertificate = forgeInternals.getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, createPrivateKey(signingKeyPem)).toString('binary');
}

/**
 * Keys for `issue`. The operator starts it (main.ts) so that new clusters find keys ready; until
 * started (tests, tools) every take generates a key.
 */
export const keyPool = new KeyPool(() => generateKeyPair());

/** Takes a key (see key-pool.ts) and issues a certificate for it in one step. */
export async function issue(spec: CertificateSpec, issuer?: CertificateAndKey): Promise<CertificateAndKey> {
  const keys = await keyPool.take();
  const certPem = signCertificate(spec, keys.publicKeyPem, issuer ?? { selfSigningKeyPem: keys.privateKeyPem });
  return { certPem, keyPem: keys.privateKeyPem };
}
