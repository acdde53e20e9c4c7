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
  /** JSON LearnerRecord: the learner being added, and since when. */
  learner: 'learner',
  /** JSON LearnerRetry: the last learner removed for missing its deadline, and when to add again. */
  learnerRetry: 'learner-retry',
} as const;

/**
 * The learner being added and when it was added: the start of its deadline. Kept here, not in
 * the operator's memory, so that a restarted operator still knows how long it has been waiting.
 */
export interface LearnerRecord {
  /** etcd member ID, decimal. */
  memberId: string;
  ordinal: number | undefined;
  /** ISO time the member was added (or first seen, if the operator died before recording it). */
  addedAt: string;
}

/** Why a learner missed its deadline. */
export type LearnerStuckReason = 'notStarted' | 'notCaughtUp';

/**
 * A learner that missed its deadline and is (being) removed: the next add waits until `retryAt`,
 * and each failure in a row doubles the wait, so a pod that can never start costs etcd one
 * add/remove per interval rather than a loop.
 */
export interface LearnerRetry extends LearnerRecord {
  why: LearnerStuckReason;
  /** Learners removed for their deadline in a row, this one included. */
  failures: number;
  retryAt: string;
}

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
  learner?: LearnerRecord;
  learnerRetry?: LearnerRetry;
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
      // Absent keys are dropped by server-side apply: no learner, no record.
      ...(membership.learner ? { [membershipKeys.learner]: JSON.stringify(membership.learner) } : {}),
      ...(membership.learnerRetry ? { [membershipKeys.learnerRetry]: JSON.stringify(membership.learnerRetry) } : {}),
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
  return { state, ordinals, memberVolumes, learner: parseLearner(data[membershipKeys.learner]), learnerRetry: parseRetry(data[membershipKeys.learnerRetry]) };
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  try {
    const parsed = text === undefined ? undefined : (JSON.parse(text) as unknown);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));

/** A malformed record reads as none: the learner's clock starts again from this pass. */
function parseLearner(text: string | undefined): LearnerRecord | undefined {
  const r = parseJson(text);
  if (!r || typeof r.memberId !== 'string' || !/^\d+$/.test(r.memberId) || !isTime(r.addedAt)) return undefined;
  return { memberId: r.memberId, ordinal: typeof r.ordinal === 'number' ? r.ordinal : undefined, addedAt: r.addedAt };
}

function parseRetry(text: string | undefined): LearnerRetry | undefined {
  const learner = parseLearner(text);
  const r = parseJson(text);
  const why = r?.why;
  if (!learner || !r || (why !== 'notStarted' && why !== 'notCaughtUp')) return undefined;
  if (typeof r.failures !== 'number' || r.failures < 1 || !isTime(r.retryAt)) return undefined;
  return { ...learner, why, failures: r.failures, retryAt: r.retryAt };
}
