import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { EtcdTls } from '../etcd/types.js';
import { type LeafFacts, inspectLeaf, tlsMaterial } from '../pki/inspect.js';
import { executeCertificatePlan } from '../pki/issue.js';
import { type CertificatePlan, type ObservedPki, type PkiInputs, type PkiProblemReason, planCertificates, planIsEmpty } from '../pki/plan.js';
import type { LeafKind } from '../pki/profiles.js';
import type { ClusterCache } from '../runtime/cache.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import { type ClusterRef, annotationKeys, names } from '../resources/names.js';
import { ownerReference } from '../resources/owner.js';
import { describeRotation, hashOf, memberTrustHash } from './ca-rotation.js';
import type { KubeWriter } from './kube-writer.js';
import { tlsPolicyOf } from './tls-policy.js';

export interface CertificateOutcome {
  problems: { reason: string; message: string; key?: string }[];
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

/** A live GET of a Secret; absent is undefined. */
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
  CARotationOverdue: R.caRotationOverdue,
  SecretNotOwned: R.secretNotOwned,
  InvalidTLSPolicy: R.invalidTLSPolicy,
};

/** A leaf etcd would accept now: it parses and `now` falls within its validity. */
function validAt(leaf: LeafFacts | undefined, now: Date): boolean {
  return leaf !== undefined && now < leaf.notAfter && now >= new Date(leaf.cert.validFrom);
}

type PkiDeps = { cache: ClusterCache; kc: KubeConfig; writer: KubeWriter };

interface Observation {
  pki: ObservedPki;
  /** Secrets found absent on the cache's word alone, not by a live read. */
  unconfirmed: string[];
}

/**
 * The cluster's Secrets, from the cache: a quiet pass makes no request. A Secret goes live only
 * while the cache may be behind our own write of it (read-your-writes.ts), while the watch of a
 * user's CA has not listed yet, or when named in `confirm`. A user's CA carries none of our
 * labels: it comes from a watch of its own by name, or live where the cache has none.
 */
async function observePki(deps: PkiDeps, ref: ClusterRef, caSecretName: string, userCa: boolean, confirm: string[] = []): Promise<Observation> {
  const ns = ref.namespace;
  const unconfirmed: string[] = [];
  const synced = deps.cache.hasSynced?.() ?? true;
  const live = async (name: string, cached: V1Secret | undefined) => {
    const found = await readSecret(deps.kc, ns, name);
    deps.writer.recent.settled('Secret', ns, name, found?.metadata?.resourceVersion, cached?.metadata?.resourceVersion);
    return found;
  };
  const read = async (name: string) => {
    const cached = deps.cache.get('Secret', ns, name) as V1Secret | undefined;
    if (confirm.includes(name) || deps.writer.recent.verdict('Secret', ns, name, synced, cached?.metadata?.resourceVersion) === 'live') return live(name, cached);
    if (!cached) unconfirmed.push(name);
    return cached;
  };
  const readUserCa = async () => {
    const view = deps.cache.namedSecret?.(`${ns}/${ref.name}`, ns, caSecretName);
    if (!view?.synced || confirm.includes(caSecretName)) return readSecret(deps.kc, ns, caSecretName);
    if (!view.object) unconfirmed.push(caSecretName);
    return view.object;
  };
  if (!userCa) deps.cache.releaseNamed?.(`${ns}/${ref.name}`);
  const leaves: ObservedPki['leaves'] = {};
  for (const [kind, name] of Object.entries(leafSecretNames) as [LeafKind, (c: ClusterRef) => string][]) leaves[kind] = await read(name(ref));
  const next = userCa ? undefined : await read(names.caNextSecret(ref));
  const ca = userCa ? await readUserCa() : await read(caSecretName);
  return { pki: { ca, ...(next ? { next } : {}), leaves }, unconfirmed };
}

/**
 * A plan that writes or reports rests on every absence it saw, and the cache cannot vouch for an
 * absence it cannot see: a Secret of ours relabelled so the selector drops it, or one someone else
 * created under our name. Those are confirmed live first, so nothing is issued over them and no
 * missing CA is reported; a quiet plan (nothing due, nothing wrong) needs no confirmation.
 */
function needsConfirmation(plan: CertificatePlan): boolean {
  return !planIsEmpty(plan) || plan.problems.length > 0 || plan.rotation !== undefined;
}

/**
 * Plans and issues the cluster's certificates, applying the Secrets that changed. `trustInUse`:
 * members or clients may trust the current CA (see `membersMayTrust`). A paused cluster is
 * planned, for its status, but nothing is issued or written.
 */
export async function reconcileCertificates(
  deps: PkiDeps & { clusterDomain: string },
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
  const rotateToken = cluster.metadata.annotations?.[annotationKeys.rotateCa];
  const planFor = (observed: ObservedPki) => {
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
    return { observed, observedHash, inputs, plan: planCertificates(observed, inputs, now) };
  };
  const first = await observePki(deps, ref, caSecretName, caRef !== undefined);
  let planned = planFor(first.pki);
  if (first.unconfirmed.length > 0 && needsConfirmation(planned.plan)) planned = planFor((await observePki(deps, ref, caSecretName, caRef !== undefined, first.unconfirmed)).pki);
  const { observed, observedHash, inputs, plan } = planned;
  const written: string[] = [];
  let trustHash = observedHash;
  let writtenOperator: V1Secret | undefined;
  const rotation = describeRotation(plan.rotation, caSecretName);
  if (!planIsEmpty(plan) && !cluster.spec.paused) {
    for (const s of await executeCertificatePlan(plan, observed, inputs, ownerReference(cluster), now)) {
      await deps.writer.apply({ ...s, apiVersion: 'v1', kind: 'Secret' });
      written.push(s.metadata!.name!);
      if (plan.rotation && written.length === 1) crashpoint(`after-ca-${plan.rotation.step.kind}`);
      // A server Secret found edited (another CA's bundle) is put back in this pass: members are
      // not rolled onto the trust it held for a moment. A rotation rolls from what it observed.
      if (s.metadata!.name === names.serverSecret(ref) && !plan.rotation) trustHash = memberTrustHash(s) ?? trustHash;
      // A renewal while a rotation waits keeps issuer and bundle, so members accept it as well.
      if (s.metadata!.name === names.operatorClientSecret(ref) && (!plan.rotation || plan.renew !== undefined) && trustInUse) writtenOperator = s;
    }
    // Last, so that a crash before it leaves the next CA to find again: the rotation resumes.
    if (plan.rotation?.step.kind === 'finish') await deps.writer.delete('Secret', 'v1', ref.namespace, names.caNextSecret(ref));
    if (plan.rotation && written.length === 0) crashpoint(`after-ca-${plan.rotation.step.kind}`);
    if (rotation.event) await deps.writer.event(cluster, 'Normal', rotation.event.reason, rotation.event.message, now);
  }
  // The credentials as observed, even when this pass rewrote them: every rewrite keeps the old ones
  // accepted (a renewal from the same CA, or a rotation step), and a pass without them would see
  // no member and report a lost quorum. Observed gone or unusable on a cluster whose members may
  // run, the ones just reissued from the CA they trust (outside a rotation) are used at once, for
  // that same reason; a new cluster still starts its members on the next pass. Expired (the
  // operator away past its notAfter) is unusable too: etcd refuses it.
  const operatorSecret = observed.leaves.operatorClient;
  const usable = operatorSecret && (!written.includes(names.operatorClientSecret(ref)) || validAt(inspectLeaf(operatorSecret), now));
  const material = usable ? tlsMaterial(operatorSecret) : writtenOperator ? tlsMaterial(writtenOperator) : undefined;
  return {
    trustBundleHash: trustHash ?? (material ? hashOf(material.caPem) : ''),
    ...(rotation.progress ? { progress: rotation.progress } : {}),
    problems: plan.problems.map((p) => ({ reason: conditionReasons[p.reason], message: p.message, ...(p.key ? { key: p.key } : {}) })),
    caSecretName,
    operatorTls: material ? { caPem: material.caPem, certPem: material.certPem, keyPem: material.keyPem } : undefined,
    written,
    nextRenewalAt: plan.nextRenewalAt,
  };
}
