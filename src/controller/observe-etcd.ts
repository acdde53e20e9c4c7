import type { EtcdAdmin } from '../etcd/types.js';
import type { EndpointStatus, EtcdMember } from '../etcd/types.js';
import { type ClusterRef, memberOrdinal } from '../resources/names.js';

/** One member as this pass saw it: etcd's record joined with the member's own status. */
export interface MemberView {
  id: string;
  name: string;
  ordinal: number | undefined;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
  started: boolean;
  status: EndpointStatus | undefined;
  /** Answered Status with a leader and without alarms. */
  healthy: boolean;
  isLeader: boolean;
  /** Why the member counts as unhealthy, for status and logs. */
  problem: string | undefined;
}

export interface EtcdView {
  clusterId: string;
  members: MemberView[];
  leaderId: string | undefined;
  /** The cluster ID (decimal) each endpoint that answered Status reported, by endpoint URL. */
  endpointClusterIds?: Record<string, string>;
}

/**
 * The ordinal of a member: from its name once started, else from the first DNS label of its peer
 * URL (`<cluster>-<n>.<peer-service>...`). The cluster domain does not matter.
 */
export function ordinalOf(ref: ClusterRef, member: Pick<EtcdMember, 'name' | 'peerURLs'>): number | undefined {
  if (member.name) return memberOrdinal(ref, member.name);
  const url = member.peerURLs[0];
  if (!url) return undefined;
  try {
    return memberOrdinal(ref, new URL(url).hostname.split('.')[0] ?? '');
  } catch {
    return undefined;
  }
}

/** A learner is ready for promotion once it has applied 90% of the leader's log, as etcd requires. */
export function caughtUp(learner: EndpointStatus | undefined, leader: EndpointStatus | undefined): boolean {
  if (!learner || !leader) return false;
  return learner.raftAppliedIndex * 10n >= leader.raftIndex * 9n;
}

/**
 * Reads the member list and every reachable member's status. Throws when no member answers the
 * member list: the caller treats the cluster as unreachable.
 */
export async function observeEtcd(admin: EtcdAdmin, ref: ClusterRef): Promise<EtcdView> {
  const [list, probes] = await Promise.all([admin.memberList(), admin.statusAll()]);
  const statuses = new Map<string, EndpointStatus>();
  for (const p of probes) if ('status' in p) statuses.set(p.status.memberId, p.status);
  // Members agree on the leader except briefly during an election; take the most reported one.
  const votes = new Map<string, number>();
  for (const s of statuses.values()) if (s.leaderId !== '0') votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  const leaderId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
  const members = list.members.map((m): MemberView => {
    const status = statuses.get(m.id);
    const problem = !m.name
      ? 'not started'
      : !status
        ? 'not answering'
        : status.errors.length > 0
          ? status.errors.join('; ')
          : status.leaderId === '0'
            ? 'no leader'
            : undefined;
    return {
      id: m.id,
      name: m.name,
      ordinal: ordinalOf(ref, m),
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      isLearner: m.isLearner,
      started: m.name !== '',
      status,
      healthy: problem === undefined,
      isLeader: m.id === leaderId,
      problem,
    };
  });
  const endpointClusterIds = Object.fromEntries(probes.flatMap((p) => ('status' in p ? [[p.endpoint, p.status.clusterId]] : [])));
  return { clusterId: list.clusterId, members, leaderId, endpointClusterIds };
}
