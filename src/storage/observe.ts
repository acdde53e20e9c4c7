import type { KubeConfig, V1StatefulSet, V1StorageClass } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import type { KubeView } from '../controller/observe-kube.js';
import { type ClassState, type ObservedClaim, type StorageObservation, claimsToGrow } from './plan.js';

/** The claim size of a StatefulSet's volumeClaimTemplates: fixed once created, so the one to keep. */
export function claimSizeOf(sts: V1StatefulSet | undefined): string | undefined {
  return sts?.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
}

/**
 * The StatefulSet to apply, with the live object's claim templates: the API server refuses any
 * change to them, so only the recreation (plan.ts) moves them to the spec's size.
 */
export function withLiveClaimTemplates<T extends V1StatefulSet | undefined>(desired: T, live: V1StatefulSet | undefined): T {
  if (!desired?.spec || !live?.spec) return desired;
  return { ...desired, spec: { ...desired.spec, volumeClaimTemplates: live.spec.volumeClaimTemplates } };
}

/** What the cache says of the members' claims, without the classes (read by `readClasses`). */
export function storageObservation(cluster: EtcdCluster, kube: KubeView, membershipIdle: boolean): StorageObservation {
  const sts = kube.statefulSet;
  const claims: ObservedClaim[] = [...kube.claims].map(([ordinal, pvc]) => ({
    ordinal,
    name: pvc.metadata?.name ?? '',
    className: pvc.spec?.storageClassName ?? undefined,
    requested: pvc.spec?.resources?.requests?.storage,
    capacity: pvc.status?.capacity?.storage,
  }));
  return {
    desired: cluster.spec.storage.type === 'EmptyDir' ? undefined : cluster.spec.storage.size,
    statefulSet: sts ? { replicas: sts.spec?.replicas ?? 0, claimSize: claimSizeOf(sts), deleting: !!sts.metadata?.deletionTimestamp } : undefined,
    claims,
    classes: {},
    membershipIdle,
  };
}

/**
 * The StorageClasses of the claims that must grow, read with a live GET only then: the cache does
 * not watch cluster-scoped objects, and a growth is rare. Without the right to read classes (the
 * namespaced install), a class is `unknown` and the API server's own admission decides.
 */
export async function readClasses(kc: KubeConfig, o: StorageObservation, signal?: AbortSignal): Promise<Record<string, ClassState>> {
  const names = [...new Set(claimsToGrow(o).map((c) => c.className).filter((n): n is string => !!n))];
  const classes: Record<string, ClassState> = {};
  for (const name of names) {
    try {
      const sc = await kubeRequest<V1StorageClass>(kc, `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(name)}`, { signal });
      classes[name] = sc.allowVolumeExpansion === true ? 'expandable' : 'fixed';
    } catch (err) {
      const code = statusCodeOf(err);
      if (code === 404) classes[name] = 'missing';
      else if (code === 403) classes[name] = 'unknown';
      else throw err;
    }
  }
  return classes;
}
