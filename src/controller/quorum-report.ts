import { conditionReasons as R, conditionTypes as T } from '../api/conditions.js';
import type { Condition, EtcdMemberStatus } from '../api/types.generated.js';
import { quorum, quorumLost, voterHealth } from '../etcd/quorum.js';
import type { EtcdView, MemberView } from './observe-etcd.js';

export interface Availability {
  available: boolean;
  message: string;
}

/** "main-0 (applied index 120, no leader)": what a person deciding on recovery needs first. */
function answering(m: MemberView): string {
  const index = m.status ? `applied index ${m.status.raftAppliedIndex}` : '';
  return `${m.name} (${[index, m.problem].filter(Boolean).join(', ')})`;
}

/**
 * Whether a quorum of voters is healthy, with a message. Without quorum the message names the
 * members that still answer and how far each has applied its log, read from each member's own
 * Status, which needs no quorum; and those that do not answer. Pure.
 */
export function availability(etcd: EtcdView | undefined, lastKnown: readonly EtcdMemberStatus[] | undefined): Availability {
  if (!etcd) {
    const known = (lastKnown ?? []).map((m) => m.name).join(', ');
    return { available: false, message: `no member answers: quorum lost or every member down${known ? `; last known members: ${known}` : ''}` };
  }
  const v = voterHealth(etcd.members);
  const counts = `${v.healthy} of ${v.voters} voting members healthy`;
  if (etcd.leaderId !== undefined && !quorumLost(v)) return { available: true, message: counts };
  const live = etcd.members.filter((m) => m.status);
  const silent = etcd.members.filter((m) => !m.status).map((m) => m.name || `${m.problem} (${BigInt(m.id).toString(16)})`);
  const parts = [`quorum lost: ${counts}, ${quorum(v.voters)} needed`];
  if (live.length > 0) parts.push(`answering: ${live.map(answering).join(', ')}`);
  if (silent.length > 0) parts.push(`not answering: ${silent.join(', ')}`);
  return { available: false, message: parts.join('; ') };
}

/**
 * The Warning event for a cluster that formed and just lost its quorum: sent when Available goes
 * to False for that reason from anything else (True, unknown on a new operator, or False for
 * another reason), so a lasting loss is reported once. Available False for another reason (a
 * cluster ID mismatch, a CORRUPT alarm) is not a lost quorum: its own Warning says what it is.
 */
export function quorumLossEvent(previous: readonly Condition[] | undefined, next: readonly Condition[], formed: boolean): { reason: string; message: string } | undefined {
  const now = next.find((c) => c.type === T.available);
  const before = previous?.find((c) => c.type === T.available);
  const lost = (c: Condition | undefined) => c?.status === 'False' && c.reason === R.quorumLost;
  if (!formed || !now || !lost(now) || lost(before)) return undefined;
  return { reason: R.quorumLost, message: now.message };
}
