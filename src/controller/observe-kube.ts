import type { V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import type { ClusterCache } from '../runtime/cache.js';
import { type MembershipConfig, parseMembershipConfig } from '../resources/membership-config.js';
import { type ClusterRef, memberHost, memberOrdinal, memberSelector, names, ports } from '../resources/names.js';

/** What the cache says about a cluster's Kubernetes children this pass. */
export interface KubeView {
  statefulSet: V1StatefulSet | undefined;
  /** Member pods by ordinal. */
  pods: Map<number, V1Pod>;
  /** Identity of each ordinal's data: its PVC's UID, or the pod's UID for emptyDir storage. */
  volumes: Map<number, string>;
  /** The PVC of each ordinal (none for emptyDir storage). */
  claims: Map<number, V1PersistentVolumeClaim>;
  /** Ordinals whose PVC is being deleted (not in `volumes`): a pod started now would mount it. */
  leavingClaims?: number[];
  /**
   * The data each ordinal's member may run on now: `volumes`, plus a PVC being deleted, which its
   * pod keeps until it stops. A member seen healthy on such a claim is recorded on it, or the loss
   * that follows could never be proven.
   */
  runningVolumes?: Map<number, string>;
  membership: MembershipConfig | undefined;
}

/** A member's client endpoint by pod IP, and the DNS name its certificate is verified against. */
export interface MemberEndpoint {
  url: string;
  serverName: string;
}

export function observeKube(cache: ClusterCache, cluster: EtcdCluster, ref: ClusterRef, pvcs: (ns: string) => V1PersistentVolumeClaim[]): KubeView {
  const ns = ref.namespace;
  const pods = new Map<number, V1Pod>();
  for (const pod of cache.list('Pod', ns, memberSelector(ref)) as V1Pod[]) {
    const ordinal = memberOrdinal(ref, pod.metadata?.name ?? '');
    if (ordinal !== undefined && !pod.metadata?.deletionTimestamp) pods.set(ordinal, pod);
  }
  const volumes = new Map<number, string>();
  const claims = new Map<number, V1PersistentVolumeClaim>();
  const leavingClaims: number[] = [];
  const runningVolumes = new Map<number, string>();
  if (cluster.spec.storage.type === 'EmptyDir') {
    for (const [ordinal, pod] of pods) if (pod.metadata?.uid) volumes.set(ordinal, pod.metadata.uid);
  } else {
    for (const pvc of pvcs(ns)) {
      const match = /^data-(.+)$/.exec(pvc.metadata?.name ?? '');
      const ordinal = match ? memberOrdinal(ref, match[1]!) : undefined;
      if (ordinal === undefined || !pvc.metadata?.uid) continue;
      runningVolumes.set(ordinal, pvc.metadata.uid);
      if (pvc.metadata.deletionTimestamp) {
        leavingClaims.push(ordinal);
        continue;
      }
      volumes.set(ordinal, pvc.metadata.uid);
      claims.set(ordinal, pvc);
    }
  }
  return {
    statefulSet: cache.get('StatefulSet', ns, names.statefulSet(ref)) as V1StatefulSet | undefined,
    pods,
    volumes,
    claims,
    leavingClaims,
    runningVolumes: cluster.spec.storage.type === 'EmptyDir' ? volumes : runningVolumes,
    membership: parseMembershipConfig(cache.get('ConfigMap', ns, names.membershipConfig(ref)) as V1ConfigMap | undefined),
  };
}

/** Endpoints of member pods that have an IP, in ordinal order. */
export function memberEndpoints(view: KubeView, ref: ClusterRef, domain: string): MemberEndpoint[] {
  return [...view.pods]
    .filter(([, pod]) => pod.status?.podIP)
    .sort(([a], [b]) => a - b)
    .map(([ordinal, pod]) => ({ url: `https://${pod.status!.podIP}:${ports.client}`, serverName: memberHost(ref, ordinal, domain) }));
}
