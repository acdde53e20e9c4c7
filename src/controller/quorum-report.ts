import { conditionReasons as R, conditionTypes as T } from '../api/conditions.js';
import type { Condition, EtcdMemberStatus } from '../api/types.generated.js';
import { quorum, quorumLost, voterHealth } from '../etcd/quorum.js';
import { type EtcdView, type MemberView, type RefusedEndpoint, answersForItself, describeRefusal } from './observe-etcd.js';

export interface Availability {
  available: boolean;
  /** Neither available nor lost as far as the operator can tell (Available=Unknown). */
  unknown?: boolean;
  /**
   * QuorumHealthy, QuorumLost, NoLeader while members that could form a quorum elect a leader,
   * or CertificatesRefused while members the operator cannot verify could make up the quorum.
   */
  reason: string;
  message: string;
}

/**
 * How long voters that answer, enough of them for a quorum, may go without a leader before that
 * counts as a lost quorum. An election is not a lost quorum: with etcd's defaults (heartbeat
 * 100 ms, election timeout 1 s, pre-vote) followers wait out 1 to 2 s of silence and then elect
 * within a round or two, and on a loaded machine a few rounds more. Reporting QuorumLost there
 * would send a Warning, raise etcd_operator_cluster_quorum_lost and offer a consented recovery
 * for what heals itself in seconds. Thirty seconds is many election rounds: members that answer
 * but still have no leader then cannot reach each other, and for the cluster's clients that is
 * a lost quorum.
 */
export const leaderlessGraceMs = 30_000;

/** Since when Available has been False, by its last transition; now when it was True or unknown. */
function unavailableSince(previous: readonly Condition[] | undefined, now: Date): number {
  const c = previous?.find((x) => x.type === T.available);
  const at = c?.status === 'False' ? Date.parse(c.lastTransitionTime) : NaN;
  return Number.isNaN(at) ? now.getTime() : at;
}

/** "main-0 (applied index 120, no leader)": what a person deciding on recovery needs first. */
function answering(m: MemberView): string {
  const index = m.status ? `applied index ${m.status.raftAppliedIndex}` : '';
  return `${m.name} (${[index, m.problem].filter(Boolean).join(', ')})`;
}

/**
 * Whether a quorum of voters is healthy, with a message. Without quorum the message names the
 * members that still answer and how far each has applied its log, read from each member's own
 * Status, which needs no quorum; and those that do not answer. When enough voters answer for a
 * quorum but none leads, that is NoLeader (an election) until Available has been False for
 * leaderlessGraceMs (by `previous`, the conditions last written), then QuorumLost. Pure.
 */
export function availability(etcd: EtcdView | undefined, lastKnown: readonly EtcdMemberStatus[] | undefined, previous: readonly Condition[] | undefined, now: Date, refused: readonly RefusedEndpoint[] = []): Availability {
  if (!etcd && refused.length > 0) {
    const which = refused.map((r) => `${r.host.split('.')[0]}: ${describeRefusal(r.certificate)}`).join('; ');
    return { available: false, unknown: true, reason: R.certificatesRefused, message: `no member answers the operator over TLS it accepts, so it cannot tell whether a quorum stands (not a lost quorum): ${which}` };
  }
  if (!etcd) {
    const known = (lastKnown ?? []).map((m) => m.name).join(', ');
    return { available: false, reason: R.quorumLost, message: `no member answers: quorum lost or every member down${known ? `; last known members: ${known}` : ''}` };
  }
  const v = voterHealth(etcd.members);
  const counts = `${v.healthy} of ${v.voters} voting members healthy`;
  if (etcd.leaderId !== undefined && !quorumLost(v)) return { available: true, reason: R.quorumHealthy, message: counts };
  const uncertain = unverified(etcd, v);
  if (uncertain) return uncertain;
  const up = etcd.members.filter((m) => !m.isLearner && answersForItself(m)).length;
  if (v.voters > 0 && up >= quorum(v.voters) && now.getTime() - unavailableSince(previous, now) < leaderlessGraceMs) {
    const message = `no leader: ${up} of ${v.voters} voting members answer, enough for a quorum, but none leads one (an election, or members that cannot reach each other); reported as a lost quorum if it lasts ${leaderlessGraceMs / 1000} s`;
    return { available: false, reason: R.noLeader, message };
  }
  const live = etcd.members.filter((m) => m.status);
  const silent = etcd.members.filter((m) => !m.status).map((m) => m.name || `${m.problem} (${BigInt(m.id).toString(16)})`);
  const parts = [`quorum lost: ${counts}, ${quorum(v.voters)} needed`];
  if (live.length > 0) parts.push(`answering: ${live.map(answering).join(', ')}`);
  if (silent.length > 0) parts.push(`not answering: ${silent.join(', ')}`);
  return { available: false, reason: R.quorumLost, message: parts.join('; ') };
}

/**
 * Voters whose certificates the operator refuses (or that refuse its own) are not known to be
 * down. When they could complete a quorum with the healthy ones, the answer is not QuorumLost:
 * Available when a quorum served this pass's linearizable read anyway, else Unknown. Only a
 * quorum that those members could not complete even if all were healthy is reported lost.
 */
function unverified(etcd: EtcdView, v: { voters: number; healthy: number }): Availability | undefined {
  const refused = etcd.members.filter((m) => !m.isLearner && m.certificate);
  if (refused.length === 0 || quorumLost({ voters: v.voters, healthy: v.healthy + refused.length })) return undefined;
  const which = refused.map((m) => `${m.name}: ${m.problem}`).join('; ');
  const counts = `${v.healthy} of ${v.voters} voting members healthy, ${quorum(v.voters)} needed, and ${refused.length} more cannot be checked`;
  if (etcd.quorumConfirmed && etcd.leaderId !== undefined) return { available: true, reason: R.quorumHealthy, message: `a quorum answered a linearizable read; ${counts}: ${which}` };
  return { available: false, unknown: true, reason: R.certificatesRefused, message: `cannot tell whether a quorum stands (not a lost quorum): ${counts}: ${which}` };
}

/**
 * The Available reason as src/recovery reads it. A quorum the operator cannot verify is neither
 * healthy nor lost, which recovery knows as an election: it waits and offers nothing.
 */
export function recoveryQuorum(reason: string): string {
  return reason === R.certificatesRefused ? R.noLeader : reason;
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
