/**
 * The act step of the PKI: generates keys and signs what a plan asks for, and returns the Secrets
 * to apply. Keys and signatures come from OpenSSL (see x509.ts); it talks to no API server: the
 * caller applies the result. Signatures are randomized (ECDSA): issuing twice gives different
 * text, so this runs only for what the plan found due, never to compare with what is written.
 */
import { randomBytes } from 'node:crypto';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { parseCertificate, secretKeys, secretText } from './inspect.js';
import { annotationKeys, names } from '../resources/names.js';
import type { CertificatePlan, ObservedPki, PkiInputs, RotationPlan } from './plan.js';
import { overlapBundle, splitBundle } from './rotation.js';
import { type TlsPolicy, caValidity, leafValidity } from './policy.js';
import { type LeafKind, type LeafProfile, type PkiCluster, caCommonName, leafProfile, organization } from './profiles.js';
import { buildCaSecret, buildTlsSecret } from './secrets.js';
import { type CertificateAndKey, issue } from './x509.js';

/** 128 random bits with the top bit clear, so the DER integer stays positive. */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export function issueCa(cluster: PkiCluster, policy: TlsPolicy, now: Date): Promise<CertificateAndKey> {
  return issue({ commonName: caCommonName(cluster), organizations: [organization], isCA: true, serialHex: randomSerialHex(), ...caValidity(now, policy) });
}

export function issueLeaf(profile: LeafProfile, ca: CertificateAndKey, caNotAfter: Date, policy: TlsPolicy, now: Date): Promise<CertificateAndKey> {
  const { commonName, organizations, dnsNames, ipAddresses, usages } = profile;
  const spec = { commonName, organizations, dnsNames, ipAddresses, usages, serialHex: randomSerialHex(), ...leafValidity(now, policy, caNotAfter) };
  return issue(spec, ca);
}

/** The signing CA the plan kept, read back from the observed Secret (the plan holds no keys). */
function keptCa(observed: ObservedPki): CertificateAndKey {
  const certPem = observed.ca && secretText(observed.ca, secretKeys.cert);
  const keyPem = observed.ca && secretText(observed.ca, secretKeys.key);
  if (!certPem || !keyPem) throw new Error('the plan kept a CA that the observed Secret does not hold');
  return { certPem, keyPem };
}

/**
 * Issues what `plan` says and returns the Secrets to apply: the operator's CA first when it is new,
 * then the leaves. Empty when the plan writes nothing.
 */
export async function executeCertificatePlan(
  plan: CertificatePlan,
  observed: ObservedPki,
  inputs: PkiInputs,
  owner: V1OwnerReference,
  now: Date,
): Promise<V1Secret[]> {
  if (plan.ca.action === 'blocked') return [];
  if (plan.rotation) return [...(await executeRotation(plan.rotation, observed, inputs, owner, now)), ...(await renewMidRotation(plan, observed, inputs, owner, now))];
  const c = inputs.cluster;
  const secrets: V1Secret[] = [];
  let ca: CertificateAndKey;
  let caNotAfter: Date;
  if (plan.ca.action === 'issue') {
    ca = await issueCa(c, inputs.policy, now);
    caNotAfter = caValidity(now, inputs.policy).notAfter;
    // The request present at mint is answered by this CA: a copied manifest rotates nothing.
    secrets.push(buildCaSecret(c, plan.ca.secretName, ca, owner, tokenAnnotation(inputs.rotateToken)));
  } else {
    ca = keptCa(observed);
    caNotAfter = caNotAfterOf(ca);
  }
  const leaves = await Promise.all(plan.issue.map((item) => issueLeaf(leafProfile(c, item.kind), ca, caNotAfter, inputs.policy, now)));
  plan.issue.forEach((item, i) => secrets.push(buildTlsSecret(c, item.secretName, leaves[i]!, ca.certPem, owner)));
  return secrets;
}

const tokenAnnotation = (token: string | undefined) => (token === undefined ? undefined : { [annotationKeys.rotateCa]: token });

/** The certificate and key a Secret holds, or an error: the plan saw them usable. */
function materialOf(secret: V1Secret | undefined): CertificateAndKey {
  const certPem = secret && secretText(secret, secretKeys.cert);
  const keyPem = secret && secretText(secret, secretKeys.key);
  if (!certPem || !keyPem) throw new Error(`Secret ${secret?.metadata?.name ?? '?'} lost its certificate or key since it was observed`);
  return { certPem, keyPem };
}

/**
 * The server Secret is written last: members restart for what it holds (memberTrustText), and a
 * crash after it but before the peer Secret would roll them with a peer trust (or peer leaf) of
 * the phase before, and no later write of the peer Secret rolls them again.
 */
function serverLast(kinds: readonly LeafKind[]): LeafKind[] {
  return [...kinds.filter((k) => k !== 'server'), ...kinds.filter((k) => k === 'server')];
}

/**
 * One step of a CA rotation (see rotation.ts): the Secrets to apply. A `finish` step applies
 * nothing: the caller deletes the next-CA Secret.
 */
async function executeRotation(r: RotationPlan, observed: ObservedPki, inputs: PkiInputs, owner: V1OwnerReference, now: Date): Promise<V1Secret[]> {
  const c = inputs.cluster;
  const step = 'leaves' in r.step ? { ...r.step, leaves: serverLast(r.step.leaves) } : r.step;
  const rewrite = (kinds: readonly LeafKind[], bundle: string) =>
    kinds.map((kind) => buildTlsSecret(c, leafProfile(c, kind).secretName, materialOf(observed.leaves[kind]), bundle, owner));
  switch (step.kind) {
    case 'start': {
      const next = await issueCa(c, inputs.policy, now);
      return [buildCaSecret(c, names.caNextSecret(c), next, owner, tokenAnnotation(r.token))];
    }
    case 'widen':
      return rewrite(step.leaves, overlapBundle(r.oldPem, r.nextPem));
    case 'reissue': {
      // The Secret holding the CA the rotation goes to: the next-CA Secret, or the CA Secret when
      // it already holds it (a user CA, a promoted one, or the old one gone back to).
      const target = splitBundle(r.nextPem)[0];
      const holder = [observed.next, observed.ca].find((s) => s !== undefined && splitBundle(secretText(s, secretKeys.cert))[0] === target);
      const signer = materialOf(holder);
      const notAfter = caNotAfterOf(signer);
      const issued = await Promise.all(step.leaves.map((kind) => issueLeaf(leafProfile(c, kind), signer, notAfter, inputs.policy, now)));
      return step.leaves.map((kind, i) => buildTlsSecret(c, leafProfile(c, kind).secretName, issued[i]!, overlapBundle(r.oldPem, r.nextPem), owner));
    }
    case 'promote':
      return [buildCaSecret(c, names.caSecret(c), materialOf(observed.next), owner, tokenAnnotation(r.token))];
    case 'narrow':
      return rewrite(step.leaves, r.nextPem);
    default:
      return [];
  }
}

/**
 * Leaves renewed while a rotation waits for a roll: from the CA Secret that holds their issuer,
 * with the bundle they carry now (see rotation-renewal.ts).
 */
async function renewMidRotation(plan: CertificatePlan, observed: ObservedPki, inputs: PkiInputs, owner: V1OwnerReference, now: Date): Promise<V1Secret[]> {
  const r = plan.rotation;
  if (!r || !plan.renew?.length) return [];
  const c = inputs.cluster;
  const holder = (pem: string) => {
    const want = splitBundle(pem)[0];
    const secret = [observed.next, observed.ca].find((s) => s && splitBundle(secretText(s, secretKeys.cert))[0] === want);
    return materialOf(secret);
  };
  return Promise.all(
    plan.renew.map(async ({ kind, signer }) => {
      const ca = holder(signer === 'next' ? r.nextPem : r.oldPem);
      const bundle = secretText(observed.leaves[kind]!, secretKeys.ca);
      if (!bundle) throw new Error(`Secret ${leafProfile(c, kind).secretName} lost its ca.crt since it was observed`);
      const leaf = await issueLeaf(leafProfile(c, kind), ca, caNotAfterOf(ca), inputs.policy, now);
      return buildTlsSecret(c, leafProfile(c, kind).secretName, leaf, bundle, owner);
    }),
  );
}

function caNotAfterOf(ca: CertificateAndKey): Date {
  const cert = parseCertificate(ca.certPem);
  if (!cert) throw new Error('the kept CA certificate does not parse');
  return new Date(cert.validTo);
}
