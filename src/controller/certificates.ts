import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import type { EtcdTls } from '../etcd/types.js';
import { tlsMaterial } from '../pki/inspect.js';
import { executeCertificatePlan } from '../pki/issue.js';
import { type ObservedPki, type PkiInputs, planCertificates, planIsEmpty } from '../pki/plan.js';
import type { LeafKind } from '../pki/profiles.js';
import type { ClusterCache } from '../runtime/cache.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import { type ClusterRef, names } from '../resources/names.js';
import { ownerReference } from '../resources/owner.js';
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
  /** The trust bundle changed: members must be restarted one at a time to trust it. */
  restartMembers: boolean;
}

const leafSecretNames: Record<LeafKind, (c: ClusterRef) => string> = {
  server: names.serverSecret,
  peer: names.peerSecret,
  operatorClient: names.operatorClientSecret,
  userClient: names.userClientSecret,
};

/**
 * A user's CA Secret does not carry our labels, so the informers never see it: it is the one
 * object read live each pass, and only for clusters that reference one.
 */
async function readUserSecret(kc: KubeConfig, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await kubeRequest<V1Secret>(kc, `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`);
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** Plans and issues the cluster's certificates, applying the Secrets that changed. */
export async function reconcileCertificates(
  deps: { cache: ClusterCache; kc: KubeConfig; writer: KubeWriter; clusterDomain: string },
  cluster: EtcdCluster,
  ref: ClusterRef,
  now: Date,
): Promise<CertificateOutcome> {
  const ns = ref.namespace;
  const secret = (name: string) => deps.cache.get('Secret', ns, name) as V1Secret | undefined;
  const caRef = cluster.spec.tls.caSecretRef;
  const caSecretName = caRef?.name ?? names.caSecret(ref);
  const policy = tlsPolicyOf(cluster.spec.tls);
  if (!policy) {
    return { problems: [{ reason: 'InvalidTLSPolicy', message: 'spec.tls durations do not parse' }], caSecretName, operatorTls: undefined, written: [], nextRenewalAt: undefined, restartMembers: false };
  }
  const observed: ObservedPki = {
    ca: caRef ? await readUserSecret(deps.kc, ns, caRef.name) : secret(caSecretName),
    leaves: Object.fromEntries(Object.entries(leafSecretNames).map(([kind, name]) => [kind, secret(name(ref))])),
  };
  const inputs: PkiInputs = { cluster: { ...ref, clusterDomain: deps.clusterDomain }, ownerUid: cluster.metadata.uid!, policy, caSecretRef: caRef };
  const plan = planCertificates(observed, inputs, now);
  const written: string[] = [];
  if (!planIsEmpty(plan)) {
    for (const s of await executeCertificatePlan(plan, observed, inputs, ownerReference(cluster), now)) {
      await deps.writer.apply({ ...s, apiVersion: 'v1', kind: 'Secret' });
      written.push(s.metadata!.name!);
    }
  }
  const operatorSecret = secret(names.operatorClientSecret(ref));
  const material = operatorSecret && !written.includes(names.operatorClientSecret(ref)) ? tlsMaterial(operatorSecret) : undefined;
  return {
    problems: plan.problems.map((p) => ({ reason: p.reason, message: p.message })),
    caSecretName,
    operatorTls: material ? { caPem: material.caPem, certPem: material.certPem, keyPem: material.keyPem } : undefined,
    written,
    nextRenewalAt: plan.nextRenewalAt,
    restartMembers: plan.restartMembers,
  };
}
