import type { EtcdCluster } from '../api/types.generated.js';
import { annotationKeys } from '../resources/names.js';
import type { MembershipObservation, MembershipStep } from './membership.js';
import type { EtcdView } from './observe-etcd.js';
import type { MemberEndpoint } from './observe-kube.js';
import { hexId } from '../etcd/convert.js';

/**
 * Gates on the cluster's identity, asked before the membership planner. Pure.
 *
 * Volumes outlive EtcdCluster objects (retentionPolicy Retain). A cluster deleted and created
 * again under the same name gets the same PVC names, so its pods would mount the old volumes and
 * etcd would carry on from the old data under a new object. Two rules stop that:
 * - While this object has no cluster ID (none latched, none adopted), PVCs of the ordinals its
 *   StatefulSet would start that are older than the EtcdCluster stop the StatefulSet's creation,
 *   until the user deletes them or adopts their data (the adopt-cluster-id annotation). The
 *   membership ConfigMap is not trusted for this: the old object's may linger until collected.
 * - The etcd cluster ID is latched in status the first time members answer, and never changes by
 *   observation; adoption names it in advance. Members answering with any other ID stop every
 *   change, because acting on them would mean acting on another cluster's data.
 */

export interface IdentityObservation {
  /** The cluster ID (hex) this EtcdCluster is: adopted, else latched in status; undefined if neither. */
  expected: string | undefined;
  /** Cluster IDs (hex) that answered this pass, by who answered (a pod, or the member list). */
  answers: { by: string; clusterId: string }[];
}

/** A hex cluster ID in etcd's spelling (lowercase, no prefix or leading zeros); as given if it is not hex. */
function normalizeHex(id: string): string {
  const bare = id.trim().toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]{1,16}$/.test(bare) ? BigInt(`0x${bare}`).toString(16) : id.trim();
}

/** The adopted cluster ID, when the user set one. */
export function adoptedClusterId(cluster: EtcdCluster): string | undefined {
  const value = cluster.metadata.annotations?.[annotationKeys.adoptClusterId];
  return value?.trim() ? normalizeHex(value) : undefined;
}

/** What this EtcdCluster's cluster ID must be: the adopted one, else the one status latched. */
export function expectedClusterId(cluster: EtcdCluster): string | undefined {
  return adoptedClusterId(cluster) ?? (cluster.status?.clusterID || undefined);
}


/** What this pass knows of the cluster's identity: what it must be, and what answered. */
export function identityOf(cluster: EtcdCluster, etcd: EtcdView | undefined, endpoints: MemberEndpoint[]): IdentityObservation {
  const podOf = new Map(endpoints.map((e) => [e.url, e.serverName.split('.')[0]!]));
  const answers = etcd
    ? [{ by: 'member list', clusterId: hexId(etcd.clusterId) }, ...Object.entries(etcd.endpointClusterIds ?? {}).map(([url, id]) => ({ by: podOf.get(url) ?? url, clusterId: hexId(id) }))]
    : [];
  return { expected: expectedClusterId(cluster), answers };
}

/** Members answer with a cluster ID other than the expected one (or, none latched yet, with several). */
export function clusterIdGate(id: IdentityObservation): MembershipStep | undefined {
  const distinct = new Set(id.answers.map((a) => a.clusterId));
  const mismatch = id.expected === undefined ? distinct.size > 1 : id.answers.some((a) => a.clusterId !== id.expected);
  if (!mismatch) return undefined;
  return { kind: 'awaitDecision', decision: { reason: 'clusterIdMismatch', expected: id.expected, answers: id.answers } };
}

/** The StatefulSet of an object with no cluster ID yet would start members on an earlier one's volumes. */
export function predatingVolumeGate(o: MembershipObservation, expected: string | undefined): MembershipStep | undefined {
  if (o.statefulSetReplicas !== undefined || expected !== undefined) return undefined;
  const replicas = o.knownMembers > 0 ? o.knownMembers : o.desired;
  const ordinals = o.volumes.filter((v) => v.predatesCluster && v.ordinal < replicas).map((v) => v.ordinal).sort((a, b) => a - b);
  return ordinals.length > 0 ? { kind: 'awaitDecision', decision: { reason: 'volumesPredateCluster', ordinals } } : undefined;
}
