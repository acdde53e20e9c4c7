/**
 * Reads certificates out of observed Secrets and states what is wrong with them. Pure parsing (no
 * clock: `now` is passed in); errors become values the plan can report.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import { ParseMemo } from './parse-memo.js';
import * as x509 from './peculiar.js';
import { signingAlgorithm } from './x509.js';

/** The standard keys of a `kubernetes.io/tls` Secret, plus the trust bundle. */
export const secretKeys = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;

export type CaProblemReason =
  | 'CASecretMissing'
  | 'CASecretMalformed'
  | 'CAKeyUnsupported'
  | 'CAKeyMismatch'
  | 'CANotACertificateAuthority'
  | 'CANotYetValid'
  | 'CAExpired';

export interface Problem<R extends string = string> {
  reason: R;
  message: string;
  /** One lasting state whose message moves (a countdown): its Warning event is not sent again per pass. */
  key?: string;
}

/** A usable signing CA, without its key (the plan never carries key material). */
export interface CaFacts {
  certPem: string;
  cert: X509Certificate;
  notAfter: Date;
}

/** Decodes one key of a Secret's base64 `data`, or undefined when absent or empty. */
export function secretText(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (!b64) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return text.trim() === '' ? undefined : text;
}

// Each pass reads the same texts again: parse each once (see parse-memo.ts). About ten entries
// per cluster; the bound leaves room for a few hundred clusters.
const certificates = new ParseMemo<X509Certificate | undefined>(4096);
const keyChecks = new ParseMemo<boolean>(4096);
const keyTypes = new ParseMemo<{ type: string; signs: boolean } | undefined>(1024);
const signers = new ParseMemo<boolean>(1024);
const leaves = new ParseMemo<LeafFacts | undefined>(4096);
const issued = new ParseMemo<boolean>(4096);

export function parseCertificate(pem: string): X509Certificate | undefined {
  return certificates.get([pem], () => {
    try {
      return new X509Certificate(pem);
    } catch {
      return undefined;
    }
  });
}

export function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  return keyChecks.get([cert.raw.toString('base64'), keyPem], () => {
    try {
      return cert.checkPrivateKey(createPrivateKey(keyPem));
    } catch {
      return false;
    }
  });
}

/** The key's type, and whether the operator can sign with it (RSA, ECDSA P-256 or P-384). */
function keyType(keyPem: string): { type: string; signs: boolean } | undefined {
  return keyTypes.get([keyPem], () => {
    try {
      const key = createPrivateKey(keyPem);
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return { type: `${key.asymmetricKeyType ?? 'unknown'}${curve ? ` (${curve})` : ''}`, signs: signingAlgorithm(key) !== undefined };
    } catch {
      return undefined;
    }
  });
}

/** A CA needs keyCertSign when it has a key-usage extension at all (RFC 5280 4.2.1.3). */
function canSignCertificates(certPem: string): boolean {
  return signers.get([certPem], () => {
    try {
      const usage = new x509.X509Certificate(certPem).getExtension(x509.KeyUsagesExtension);
      return !usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) !== 0;
    } catch {
      // Node parsed it but the signing library cannot: it could not issue from this CA either.
      return false;
    }
  });
}

const where = (s: V1Secret) => `Secret ${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`;

/**
 * Checks a CA Secret (the user's or the operator's) and returns the CA or the first problem,
 * phrased for a person reading the Degraded condition. Never includes key material.
 */
export function inspectCa(secret: V1Secret, now: Date): { ca: CaFacts } | { problem: Problem<CaProblemReason> } {
  const fail = (reason: CaProblemReason, message: string) => ({ problem: { reason, message: `${where(secret)}: ${message}` } });
  const certPem = secretText(secret, secretKeys.cert);
  const keyPem = secretText(secret, secretKeys.key);
  if (!certPem || !keyPem) {
    return fail('CASecretMalformed', `needs both ${secretKeys.cert} and ${secretKeys.key} (the operator signs with the CA key)`);
  }
  const cert = parseCertificate(certPem);
  if (!cert) return fail('CASecretMalformed', `${secretKeys.cert} is not a PEM certificate`);
  const type = keyType(keyPem);
  if (!type) return fail('CASecretMalformed', `${secretKeys.key} is not a PEM private key`);
  if (!type.signs) return fail('CAKeyUnsupported', `the CA key is ${type.type}; only RSA and ECDSA P-256 or P-384 CA keys are supported`);
  if (!keyMatches(cert, keyPem)) return fail('CAKeyMismatch', `${secretKeys.key} does not match the certificate in ${secretKeys.cert}`);
  if (!cert.ca || !canSignCertificates(certPem)) {
    return fail('CANotACertificateAuthority', `the certificate (${cert.subject.replaceAll('\n', ', ')}) is not a CA`);
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) return fail('CANotYetValid', `the CA is not valid before ${notBefore.toISOString()}`);
  if (now >= notAfter) return fail('CAExpired', `the CA expired at ${notAfter.toISOString()}`);
  return { ca: { certPem, cert, notAfter } };
}

/** The facts of a leaf certificate that the renewal policy compares with its profile. */
export interface LeafFacts {
  certPem: string;
  cert: X509Certificate;
  notAfter: Date;
  commonName: string | undefined;
  dnsNames: string[];
  ipAddresses: string[];
  extKeyUsages: string[];
  /** The trust bundle shipped beside it. */
  caPem: string | undefined;
}

/** Parses a leaf Secret; undefined when it is unusable (missing keys, bad PEM, key mismatch). */
export function inspectLeaf(secret: V1Secret): LeafFacts | undefined {
  const certPem = secretText(secret, secretKeys.cert);
  const keyPem = secretText(secret, secretKeys.key);
  const caPem = secretText(secret, secretKeys.ca);
  // The facts depend on the three texts alone (no clock): each pass of a quiet cluster gets the
  // same frozen object instead of reading X509Certificate's getters again.
  return leaves.get([certPem ?? '', keyPem ?? '', caPem ?? ''], () => {
    const cert = certPem ? parseCertificate(certPem) : undefined;
    if (!certPem || !cert || !keyPem || !keyMatches(cert, keyPem)) return undefined;
    const sans = (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
    const valuesOf = (prefix: string) => Object.freeze(sans.filter((s) => s.startsWith(prefix)).map((s) => s.slice(prefix.length)));
    const cn = cert.subject.split('\n').find((line) => line.startsWith('CN='));
    return Object.freeze({
      certPem,
      cert,
      notAfter: new Date(cert.validTo),
      commonName: cn?.slice(3),
      dnsNames: valuesOf('DNS:') as string[],
      ipAddresses: valuesOf('IP Address:') as string[],
      extKeyUsages: Object.freeze(cert.keyUsage ?? []) as string[],
      caPem,
    });
  });
}

/** Whether the CA certificate `caPem` issued and signed the leaf; a signature check, remembered. */
export function issuedBy(leaf: LeafFacts, caPem: string): boolean {
  return issued.get([leaf.certPem, caPem], () => {
    const ca = parseCertificate(caPem);
    try {
      return !!ca && leaf.cert.checkIssued(ca) && leaf.cert.verify(ca.publicKey);
    } catch {
      return false;
    }
  });
}

/** True when a controller owner reference names `ownerUid`: the Secret is ours to replace. */
export function ownedBy(secret: V1Secret, ownerUid: string): boolean {
  return (secret.metadata?.ownerReferences ?? []).some((ref) => ref.uid === ownerUid && ref.controller === true);
}

/** Certificate, key and trust bundle of a TLS Secret, e.g. for the operator's own etcd client. */
export function tlsMaterial(secret: V1Secret): { certPem: string; keyPem: string; caPem: string } | undefined {
  const certPem = secretText(secret, secretKeys.cert);
  const keyPem = secretText(secret, secretKeys.key);
  const caPem = secretText(secret, secretKeys.ca);
  return certPem && keyPem && caPem ? { certPem, keyPem, caPem } : undefined;
}
