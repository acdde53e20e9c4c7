import type { KubernetesObject, V1ConfigMap, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node';

/**
 * An API object as it comes off the wire: the client-node model types, with every Date they
 * declare being the RFC 3339 string the API server actually sends (the cache never converts).
 */
export type Wire<T> = T extends Date ? string : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;

/** The root object. Its spec is typed by src/api; the runtime never looks inside. */
export interface EtcdClusterObject extends KubernetesObject {
  spec?: unknown;
  status?: unknown;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

/** Everything the operator watches: the root kind and the kinds of the children it owns. */
export const watchedKinds = {
  EtcdCluster: { group: 'etcd.operator.dev', version: 'v1alpha1', plural: 'etcdclusters', kind: 'EtcdCluster' },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' },
  Service: { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod' },
  PodDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
  // Claims come from the StatefulSet's template: their UIDs tell a member's data from a new volume.
  PersistentVolumeClaim: { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' },
} as const satisfies Record<string, ResourceType>;

export type Kind = keyof typeof watchedKinds;
export type ChildKind = Exclude<Kind, 'EtcdCluster'>;
export const childKinds = Object.keys(watchedKinds).filter((k): k is ChildKind => k !== 'EtcdCluster');

export interface ObjectOfKind {
  EtcdCluster: EtcdClusterObject;
  StatefulSet: Wire<V1StatefulSet>;
  Service: Wire<V1Service>;
  Secret: Wire<V1Secret>;
  Pod: Wire<V1Pod>;
  PodDisruptionBudget: Wire<V1PodDisruptionBudget>;
  ConfigMap: Wire<V1ConfigMap>;
  PersistentVolumeClaim: Wire<V1PersistentVolumeClaim>;
}

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `/api/v1/pods`, `/apis/apps/v1/namespaces/x/statefulsets`, ... */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${base}/${r.plural}`;
}

/** The queue key of an object: `namespace/name`. */
export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
