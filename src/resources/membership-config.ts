import type { V1ConfigMap } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { type ClusterRef, memberPeerUrl, names } from './names.js';
import { childMetadata, clusterRef } from './owner.js';

/** Keys of the membership ConfigMap. Pods read the first two; the operator the third. */
export const membershipKeys = {
  initialCluster: 'initial-cluster',
  initialClusterState: 'initial-cluster-state',
  /** JSON object: volume UID -> ID (decimal) of the member seen running on it. */
  memberVolumes: 'member-volumes',
} as const;

/**
 * The membership a member that starts with an empty data directory must announce. etcd ignores
 * these flags once it has data, so one shared value serves every pod: at bootstrap it lists the
 * initial members with state `new`; later it lists the current members plus the one being added,
 * with state `existing`. Only one membership change happens at a time, so it is always right for
 * the one member that starts empty. The kubelet reads it again at every container start.
 */
export interface MembershipConfig {
  state: 'new' | 'existing';
  /** Ordinals of the members to announce (voters, learners and the member joining). */
  ordinals: number[];
  /**
   * Volume UID -> member ID, recorded once a member is seen healthy on the volume. This is the
   * operator's only memory across passes: it is what proves that a member lost its data (it ran
   * on a volume that is gone) rather than merely crashed.
   */
  memberVolumes: Record<string, string>;
}

export function initialClusterValue(ref: ClusterRef, ordinals: number[]): string {
  return [...ordinals]
    .sort((a, b) => a - b)
    .map((o) => `${names.member(ref, o)}=${memberPeerUrl(ref, o)}`)
    .join(',');
}

export function buildMembershipConfig(cluster: EtcdCluster, membership: MembershipConfig): V1ConfigMap {
  const ref = clusterRef(cluster);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMetadata(cluster, names.membershipConfig(ref)),
    data: {
      [membershipKeys.initialCluster]: initialClusterValue(ref, membership.ordinals),
      [membershipKeys.initialClusterState]: membership.state,
      // Sorted keys: equal records serialize equally, so an unchanged pass writes nothing.
      [membershipKeys.memberVolumes]: JSON.stringify(Object.fromEntries(Object.entries(membership.memberVolumes).sort())),
    },
  };
}

/** Reads what a membership ConfigMap holds; missing or malformed parts read as empty. */
export function parseMembershipConfig(cm: V1ConfigMap | undefined): MembershipConfig | undefined {
  const data = cm?.data;
  if (!data) return undefined;
  const state = data[membershipKeys.initialClusterState] === 'new' ? 'new' : 'existing';
  const ordinals = (data[membershipKeys.initialCluster] ?? '')
    .split(',')
    .map((entry) => /-(\d+)=/.exec(entry)?.[1])
    .filter((o): o is string => o !== undefined)
    .map(Number);
  let memberVolumes: Record<string, string> = {};
  try {
    const parsed = JSON.parse(data[membershipKeys.memberVolumes] ?? '{}') as unknown;
    if (parsed && typeof parsed === 'object') memberVolumes = parsed as Record<string, string>;
  } catch {
    // A hand-edited, malformed record only costs the ability to prove data loss.
  }
  return { state, ordinals, memberVolumes };
}
