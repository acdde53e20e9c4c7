/**
 * The rolling restart of members whose pod runs an outdated template: an upgrade (or a patch
 * change) of spec.version, new flags, a new trust bundle. Pure; asked by the membership planner
 * once membership matches the spec.
 *
 * The rules, in words:
 * - Pre-flight, before every restart: every member a healthy voter (no learner, no alarm, a
 *   leader in sight) and caught up, that is its applied index within `maxLagEntries` of the
 *   leader's log. A member that merely answers after its restart may still be replaying or
 *   receiving a snapshot; restarting the next one then would leave two members behind, and a
 *   3-member cluster one failure from losing quorum. Otherwise wait, and say what for.
 * - One member at a time, highest ordinal first, followers before the leader.
 * - The leader last, and only after leadership moved to a member already on the new template
 *   (when there is one), so that it is not lost with the restart.
 * Each step changes one thing; the next pass observes the result and decides again.
 */
import { hexId } from '../etcd/convert.js';
import type { MembershipStep, ObservedMember } from '../controller/membership.js';

/**
 * How far (in raft entries) a member's applied index may trail the leader's log before the next
 * restart. Small next to a log being replayed or a snapshot being sent, large enough that the
 * instant between reading the leader's and the member's status under a steady write load does
 * not hold a roll back forever.
 */
export const maxLagEntries = 1000;

function label(m: ObservedMember): string {
  return m.name ? m.name : `member ${hexId(m.id)}`;
}

/** Why no member may restart now, or undefined when every member is ready for it. */
export function rollBlocker(members: ObservedMember[]): string | undefined {
  const learner = members.find((m) => m.isLearner);
  if (learner) return `${label(learner)} is a learner: waiting until it is promoted or removed`;
  const unhealthy = members.find((m) => !m.healthy);
  if (unhealthy) return `${label(unhealthy)} is not healthy${unhealthy.problem ? ` (${unhealthy.problem})` : ''}`;
  if (!members.some((m) => m.isLeader)) return 'no leader is known';
  const behind = members.find((m) => m.lag === undefined || m.lag > maxLagEntries);
  if (behind) {
    const how = behind.lag === undefined ? 'has not reported its applied index' : `has applied ${behind.lag} entries fewer than the leader's log holds`;
    return `${label(behind)} ${how}: waiting for it to catch up (within ${maxLagEntries} entries)`;
  }
  return undefined;
}

const byOrdinalDesc = (a: ObservedMember, b: ObservedMember) => (b.ordinal ?? -1) - (a.ordinal ?? -1);

/** The next step of the roll, or undefined when no member runs an outdated template. */
export function planRoll(members: ObservedMember[], targetVersion: string | undefined): MembershipStep | undefined {
  const outdated = members.filter((m) => m.outdated && m.ordinal !== undefined).sort(byOrdinalDesc);
  if (outdated.length === 0) return undefined;
  // An upgrade is under way while some member still reports another version than the spec's.
  const upgrading = targetVersion !== undefined && members.some((m) => m.version !== undefined && m.version !== targetVersion);
  const blocker = rollBlocker(members);
  if (blocker) return { kind: 'wait', reason: upgrading ? 'upgradeWaiting' : 'unhealthyNoRestart', detail: blocker };
  const target = outdated.find((m) => !m.isLeader) ?? outdated[0]!;
  if (target.isLeader) {
    const next = members.filter((m) => !m.isLearner && !m.outdated && m !== target).sort((a, b) => (a.ordinal ?? 0) - (b.ordinal ?? 0))[0];
    if (next) return { kind: 'moveLeader', fromId: target.id, toId: next.id };
  }
  const toVersion = upgrading && target.version !== targetVersion ? targetVersion : undefined;
  return toVersion ? { kind: 'restartMember', memberId: target.id, ordinal: target.ordinal!, toVersion } : { kind: 'restartMember', memberId: target.id, ordinal: target.ordinal! };
}
