import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';
import { apiVersion, kind } from '../api/group.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { type ClusterRef, clusterLabels } from './names.js';

export function clusterRef(cluster: EtcdCluster): ClusterRef {
  return { name: cluster.metadata.name!, namespace: cluster.metadata.namespace! };
}

/** The controller reference every child carries, so the garbage collector deletes it with the cluster. */
export function ownerReference(cluster: EtcdCluster): V1OwnerReference {
  return { apiVersion, kind, name: cluster.metadata.name!, uid: cluster.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** Metadata of a child object: its name, the cluster's namespace, our labels, the owner reference. */
export function childMetadata(cluster: EtcdCluster, name: string, extraLabels: Record<string, string> = {}): V1ObjectMeta {
  return {
    name,
    namespace: cluster.metadata.namespace!,
    labels: { ...clusterLabels(clusterRef(cluster)), ...extraLabels },
    ownerReferences: [ownerReference(cluster)],
  };
}
