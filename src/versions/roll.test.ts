import { describe, expect, it } from 'vitest';
import type { MembershipStep, ObservedMember } from '../controller/membership.js';
import { maxLagEntries, planRoll } from './roll.js';

/** A healthy, caught-up voter `main-<ordinal>` with ID 1000+ordinal; member 0 leads. */
function m(ordinal: number, over: Partial<ObservedMember> = {}): ObservedMember {
  return { id: String(1000 + ordinal), name: `main-${ordinal}`, ordinal, started: true, isLearner: false, healthy: true, isLeader: ordinal === 0, caughtUp: true, lag: 0, version: '3.5.35', ...over };
}
const old = { outdated: true };
const upgraded = { version: '3.6.16' };
const to = '3.6.16';
const waiting = (detail: string): MembershipStep => ({ kind: 'wait', reason: 'upgradeWaiting', detail });

const cases: [string, ObservedMember[], string | undefined, MembershipStep | undefined][] = [
  ['nothing outdated: no step', [m(0, upgraded), m(1, upgraded), m(2, upgraded)], to, undefined],
  ['followers first, highest ordinal first', [m(0, old), m(1, old), m(2, old)], to, { kind: 'restartMember', memberId: '1002', ordinal: 2, toVersion: to }],
  ['the next follower once the restarted one caught up', [m(0, old), m(1, old), m(2, upgraded)], to, { kind: 'restartMember', memberId: '1001', ordinal: 1, toVersion: to }],
  [
    'the restarted member answers but is far behind: wait, naming it',
    [m(0, old), m(1, old), m(2, { ...upgraded, lag: 5000 })],
    to,
    waiting(`main-2 has applied 5000 entries fewer than the leader's log holds: waiting for it to catch up (within ${maxLagEntries} entries)`),
  ],
  ['a lag at the bound is caught up', [m(0, old), m(1, old), m(2, { ...upgraded, lag: maxLagEntries })], to, { kind: 'restartMember', memberId: '1001', ordinal: 1, toVersion: to }],
  [
    'a member whose applied index is unknown: wait',
    [m(0, old), m(1, { ...old, lag: undefined }), m(2, upgraded)],
    to,
    waiting(`main-1 has not reported its applied index: waiting for it to catch up (within ${maxLagEntries} entries)`),
  ],
  ['the leader last: leadership moves to an upgraded member first', [m(0, old), m(1, upgraded), m(2, upgraded)], to, { kind: 'moveLeader', fromId: '1000', toId: '1001' }],
  ['the old leader, now a follower, restarts', [m(0, { ...old, isLeader: false }), m(1, { ...upgraded, isLeader: true }), m(2, upgraded)], to, { kind: 'restartMember', memberId: '1000', ordinal: 0, toVersion: to }],
  ['a single member restarts though it leads', [m(0, old)], to, { kind: 'restartMember', memberId: '1000', ordinal: 0, toVersion: to }],
  ['pre-flight: an unhealthy member (alarm) holds the upgrade', [m(0, old), m(1, { ...old, healthy: false, problem: 'alarm:NOSPACE' }), m(2, old)], to, waiting('main-1 is not healthy (alarm:NOSPACE)')],
  ['pre-flight: a learner holds the upgrade', [m(0, old), m(1, old), m(2, old), m(3, { isLearner: true })], to, waiting('main-3 is a learner: waiting until it is promoted or removed')],
  ['pre-flight: no leader', [m(0, { ...old, isLeader: false }), m(1, old), m(2, old)], to, waiting('no leader is known')],
  // Not an upgrade: every member already runs spec.version (new flags or trust bundle).
  ['a template change without a version change restarts with no target version', [m(0, { ...upgraded, ...old }), m(1, upgraded), m(2, { ...upgraded, ...old })], to, { kind: 'restartMember', memberId: '1002', ordinal: 2 }],
  [
    'a template change waits for health under its own reason',
    [m(0, upgraded), m(1, { ...upgraded, healthy: false, problem: 'not answering' }), m(2, { ...upgraded, ...old })],
    to,
    { kind: 'wait', reason: 'unhealthyNoRestart', detail: 'main-1 is not healthy (not answering)' },
  ],
  ['an upgraded member among outdated ones restarts no more', [m(0, old), m(1, { ...old, ...upgraded }), m(2, upgraded)], to, { kind: 'restartMember', memberId: '1001', ordinal: 1 }],
];

describe('planRoll', () => {
  it.each(cases)('%s', (_name, members, target, expected) => {
    expect(planRoll(members, target)).toEqual(expected);
  });

  it('rolls 3 members one at a time, the leader last, each after the previous caught up', () => {
    let members = [m(0, old), m(1, old), m(2, old)];
    const steps: string[] = [];
    for (let i = 0; i < 10; i++) {
      const step = planRoll(members, to);
      if (!step) break;
      steps.push(step.kind === 'restartMember' ? `restart ${step.ordinal}` : step.kind === 'moveLeader' ? `lead ${step.toId}` : step.kind);
      if (step.kind === 'restartMember') {
        // Right after the restart the member answers far behind; the next pass sees it caught up.
        members = members.map((x) => (x.id === step.memberId ? { ...x, outdated: false, version: to, lag: 50_000 } : x));
        if (members.some((x) => x.outdated)) expect(planRoll(members, to)).toMatchObject({ kind: 'wait', reason: 'upgradeWaiting' });
        members = members.map((x) => (x.id === step.memberId ? { ...x, lag: 3 } : x));
      }
      if (step.kind === 'moveLeader') members = members.map((x) => ({ ...x, isLeader: x.id === step.toId }));
    }
    expect(steps).toEqual(['restart 2', 'restart 1', 'lead 1001', 'restart 0']);
  });
});
