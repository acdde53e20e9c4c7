import type { V1PodDisruptionBudget } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { type VoterHealth, quorumMargin } from '../etcd/quorum.js';
import { memberSelector, names } from './names.js';
import { childMetadata, clusterRef } from './owner.js';

/**
 * How many member pods voluntary disruptions (node drains, evictions) may take down: as many as
 * the voters that exist can lose and keep a quorum, counted from what etcd reports, never from
 * spec.replicas, which during scaling names members that do not vote yet (3 -> 7 with 3 voters
 * tolerates 1, not 3). A voter already unhealthy has used up part of the margin.
 */
export function maxUnavailable(cluster: EtcdCluster, voters: VoterHealth | undefined): number {
  // No member answered: nobody can tell what is safe. Blocking drains until a pass sees the
  // members again can be undone; evicting the last healthy voters cannot.
  if (!voters) return 0;
  // A cluster meant to have one member has no redundancy to protect, and a budget of zero would
  // block every drain forever. While it grows from one member, its only voter is protected.
  if (voters.voters === 1 && cluster.spec.replicas === 1) return 1;
  return Math.max(0, quorumMargin(voters.voters, voters.healthy));
}

/** The PodDisruptionBudget over the member pods, from the voters this pass observed. Pure. */
export function buildPodDisruptionBudget(cluster: EtcdCluster, voters: VoterHealth | undefined): V1PodDisruptionBudget {
  const ref = clusterRef(cluster);
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: childMetadata(cluster, names.podDisruptionBudget(ref)),
    spec: {
      maxUnavailable: maxUnavailable(cluster, voters),
      selector: { matchLabels: memberSelector(ref) },
    },
  };
}
