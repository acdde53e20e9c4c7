import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { EtcdTls } from '../etcd/types.js';
import { inspectLeaf, tlsMaterial } from '../pki/inspect.js';
import { executeCertificatePlan } from '../pki/issue.js';
import { type ObservedPki, type PkiInputs, type PkiProblemReason, planCertificates, planIsEmpty } from '../pki/plan.js';
import type { LeafKind } from '../pki/profiles.js';
import type { ClusterCache } from '../runtime/cache.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import { type ClusterRef, annotationKeys, names } from '../resources/names.js';
import { ownerReference } from '../resources/owner.js';
import { describeRotation, hashOf, memberTrustHash } from './ca-rotation.js';
import type { KubeWriter } from './kube-writer.js';
import { tlsPolicyOf } from './tls-policy.js';

export interface CertificateOutcome {
  problems: { reason: string; message: string }[];
  caSecretName: string;
  /** The operator's client credentials, once its Secret exists. */
  operatorTls: EtcdTls | undefined;
  /** Names of the Secrets written this pass. */
  written: string[];
  nextRenewalAt: Date | undefined;
  /** For the pod template: what members must restart for (see memberTrustHash). */
  trustBundleHash: string;
  /** Progressing while a CA rotation is under way. */
  progress?: { reason: string; message: string };
}

const leafSecretNames: Record<LeafKind, (c: ClusterRef) => string> = {
  server: names.serverSecret,
  peer: names.peerSecret,
  operatorClient: names.operatorClientSecret,
  userClient: names.userClientSecret,
};

/**
 * The informers see only Secrets with our labels. A user's CA Secret never has them, so it is read
 * live each pass; so is any Secret of ours missing from the cache, because "not in the cache" may
 * mean relabelled (or not yet seen), and only the object itself shows whether it is ours to write.
 */
async function readSecret(kc: KubeConfig, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await kubeRequest<V1Secret>(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** Condition reasons for certificate problems; the plan's finer reason stays in the message. */
const conditionReasons: Record<PkiProblemReason, string> = {
  CASecretMissing: R.caSecretMissing,
  CASecretMalformed: R.caSecretInvalid,
  CAKeyUnsupported: R.caSecretInvalid,
  CAKeyMismatch: R.caKeyMismatch,
  CANotACertificateAuthority: R.caSecretInvalid,
  CANotYetValid: R.caSecretInvalid,
  CAExpired: R.caSecretInvalid,
  CAChanged: R.caChanged,
  CAExpiringSoon: R.caExpiringSoon,
  CARotationBlocked: R.caRotationBlocked,
  SecretNotOwned: R.secretNotOwned,
  InvalidTLSPolicy: R.invalidTLSPolicy,
};

async function observePki(deps: { cache: ClusterCache; kc: KubeConfig }, ref: ClusterRef, caSecretName: string, userCa: boolean): Promise<ObservedPki> {
  const ns = ref.namespace;
  const read = async (name: string) => (deps.cache.get('Secret', ns, name) as V1Secret | undefined) ?? (await readSecret(deps.kc, ns, name));
  const leaves: ObservedPki['leaves'] = {};
  for (const [kind, name] of Object.entries(leafSecretNames) as [LeafKind, (c: ClusterRef) => string][]) leaves[kind] = await read(name(ref));
  const next = userCa ? undefined : await read(names.caNextSecret(ref));
  return { ca: userCa ? await readSecret(deps.kc, ns, caSecretName) : await read(caSecretName), ...(next ? { next } : {}), leaves };
}

/**
 * Plans and issues the cluster's certificates, applying the Secrets that changed. `trustInUse`:
 * members or clients may trust the current CA (see `membersMayTrust`). A paused cluster is
 * planned, for its status, but nothing is issued or written.
 */
export async function reconcileCertificates(
  deps: { cache: ClusterCache; kc: KubeConfig; writer: KubeWriter; clusterDomain: string },
  cluster: EtcdCluster,
  ref: ClusterRef,
  trustInUse: boolean,
  now: Date,
  membersRolled: (trustHash: string) => boolean = () => false,
): Promise<CertificateOutcome> {
  const caRef = cluster.spec.tls.caSecretRef;
  const caSecretName = caRef?.name ?? names.caSecret(ref);
  const policy = tlsPolicyOf(cluster.spec.tls);
  if (!policy) {
    return { problems: [{ reason: R.invalidTLSPolicy, message: 'spec.tls durations do not parse' }], caSecretName, operatorTls: undefined, written: [], nextRenewalAt: undefined, trustBundleHash: '' };
  }
  const observed = await observePki(deps, ref, caSecretName, caRef !== undefined);
  const rotateToken = cluster.metadata.annotations?.[annotationKeys.rotateCa];
  const observedHash = memberTrustHash(observed.leaves.server);
  const inputs: PkiInputs = {
    cluster: { ...ref, clusterDomain: deps.clusterDomain },
    ownerUid: cluster.metadata.uid!,
    policy,
    caSecretRef: caRef,
    trustInUse,
    ...(rotateToken !== undefined ? { rotateToken } : {}),
    membersRolled: observedHash !== undefined && membersRolled(observedHash),
  };
  const plan = planCertificates(observed, inputs, now);
  const written: string[] = [];
  const rotation = describeRotation(plan.rotation, caSecretName);
  if (!planIsEmpty(plan) && !cluster.spec.paused) {
    for (const s of await executeCertificatePlan(plan, observed, inputs, ownerReference(cluster), now)) {
      await deps.writer.apply({ ...s, apiVersion: 'v1', kind: 'Secret' });
      written.push(s.metadata!.name!);
    }
    // Last, so that a crash before it leaves the next CA to find again: the rotation resumes.
    if (plan.rotation?.step.kind === 'finish') await deps.writer.delete('Secret', 'v1', ref.namespace, names.caNextSecret(ref));
    if (rotation.event) await deps.writer.event(cluster, 'Normal', rotation.event.reason, rotation.event.message, now);
  }
  // The credentials as observed, even when this pass rewrote them: every rewrite keeps the old ones
  // accepted (a renewal from the same CA, or a rotation step), and a pass without them would see
  // no member and report a lost quorum.
  const operatorSecret = observed.leaves.operatorClient;
  const usable = operatorSecret && (!written.includes(names.operatorClientSecret(ref)) || inspectLeaf(operatorSecret) !== undefined);
  const material = usable ? tlsMaterial(operatorSecret) : undefined;
  return {
    trustBundleHash: observedHash ?? (material ? hashOf(material.caPem) : ''),
    ...(rotation.progress ? { progress: rotation.progress } : {}),
    problems: plan.problems.map((p) => ({ reason: conditionReasons[p.reason], message: p.message })),
    caSecretName,
    operatorTls: material ? { caPem: material.caPem, certPem: material.certPem, keyPem: material.keyPem } : undefined,
    written,
    nextRenewalAt: plan.nextRenewalAt,
  };
}
