import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { memberSelector, names } from './names.js';
import { childMetadata, clusterRef } from './owner.js';

/** Members needed for a majority. */
export function quorum(members: number): number {
  return Math.floor(members / 2) + 1;
}

/**
 * Voluntary disruptions (node drains) may take members down only while a quorum stays up. A
 * single-member cluster has no redundancy to protect, and a budget of zero would block every
 * drain forever, so it may be disrupted.
 */
export function buildPodDisruptionBudget(cluster: EtcdCluster): V1PodDisruptionBudget {
  const ref = clusterRef(cluster);
  const replicas = cluster.spec.replicas;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(cluster, names.podDisruptionBudget(ref)),
    spec: {
      maxUnavailable: replicas === 1 ? 1 : replicas - quorum(replicas),
      selector: { matchLabels: memberSelector(ref) },
    },
  };
}
