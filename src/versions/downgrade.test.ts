import { describe, expect, it } from 'vitest';
import { type DowngradeMember, type DowngradePlan, planDowngrade } from './downgrade.js';

const v36 = { server: '3.6.16', cluster: '3.6.0', storage: '3.6.0' };
const enabled = { server: '3.6.16', cluster: '3.5.0', storage: '3.6.0', downgradeTarget: '3.5.0' };
const migrated = { server: '3.6.16', cluster: '3.5.0', storage: '3.5.0', downgradeTarget: '3.5.0' };
// Right after the enable, before the leader lowered the cluster version.
const accepted = { server: '3.6.16', cluster: '3.6.0', storage: '3.6.0', downgradeTarget: '3.5.0' };
// Right after an upgrade (or at bootstrap), before the leader raised the cluster version.
const raising = { server: '3.6.16', cluster: '3.5.0', storage: '3.5.0' };
const on35 = { server: '3.5.35', cluster: '3.5.0' };
const members = (...vs: (DowngradeMember['versions'])[]): DowngradeMember[] => vs.map((versions, i) => ({ label: `db-${i}`, versions }));

describe('planDowngrade', () => {
  const cases: [what: string, desired: string, members: DowngradeMember[], blocker: string | undefined, expected: Partial<DowngradePlan>, says?: string][] = [
    ['no downgrade: spec on the members minor', '3.6.16', members(v36, v36, v36), undefined, { kind: 'none' }],
    ['an upgrade is not a downgrade', '3.6.16', members(on35, on35, on35), undefined, { kind: 'none' }],
    ['3.6 -> 3.5, all healthy: enable', '3.5.35', members(v36, v36, v36), undefined, { kind: 'enable', target: '3.5' }],
    ['pre-flight: an unhealthy member holds the enable', '3.5.35', members(v36, v36, v36), 'db-1 is not healthy', { kind: 'wait' }, 'db-1 is not healthy'],
    ['a member without versions holds everything', '3.5.35', members(v36, undefined, v36), undefined, { kind: 'wait' }, 'db-1 to report its versions'],
    ['enabled, the cluster version not lowered yet: wait, do not enable twice', '3.5.35', members(accepted, accepted, accepted), undefined, { kind: 'wait' }, 'waiting for the cluster version (3.6) to read 3.5'],
    ['enabled, storage not migrated yet: wait', '3.5.35', members(migrated, enabled, migrated), undefined, { kind: 'wait' }, 'db-1 to migrate its data (storage version 3.6.0)'],
    ['enabled and migrated: roll', '3.5.35', members(migrated, migrated, migrated), undefined, { kind: 'roll' }, '0 of 3 members run 3.5'],
    ['mid-roll: members on 3.5 have no storage version to wait for', '3.5.35', members(migrated, on35, on35), undefined, { kind: 'roll' }, '2 of 3 members run 3.5'],
    ['mid-roll, a member unhealthy: the roll waits, not this planner', '3.5.35', members(migrated, on35, on35), 'db-0 is not healthy', { kind: 'roll' }],
    ['done: every member on 3.5', '3.5.35', members(on35, on35, on35), undefined, { kind: 'none' }],
    ['back to 3.6 before any member moved: cancel', '3.6.16', members(migrated, migrated, enabled), undefined, { kind: 'cancel', target: '3.5' }],
    ['cluster version still rising after an upgrade: no cancel without a downgrade', '3.6.16', members(raising, raising, raising), undefined, { kind: 'none' }],
    ['back to 3.6 with a member still on 3.5: the roll upgrades it first', '3.6.16', members(migrated, migrated, on35), undefined, { kind: 'none' }],
    ['back to 3.6, a member silent: no cancel on a guess', '3.6.16', members(migrated, undefined, migrated), undefined, { kind: 'none' }],
    ['back to 3.5 right after an upgrade, the cluster version not raised yet: wait, no restart (3.5 would meet the raise in its log)', '3.5.35', members(raising, raising, raising), undefined, { kind: 'wait' }, 'about to be raised'],
    ['an upgrade gone back half way (a member still on 3.5): the cluster version cannot rise, roll back', '3.5.35', members(raising, raising, on35), undefined, { kind: 'roll' }],
    ['two minors down is never enabled', '3.4.30', members(v36, v36, v36), undefined, { kind: 'wait' }, 'one minor release at a time'],
    ['nobody answers: nothing to decide', '3.5.35', members(undefined, undefined, undefined), undefined, { kind: 'none' }],
  ];
  it.each(cases)('%s', (_what, desired, ms, blocker, expected, says) => {
    const plan = planDowngrade({ desired, members: ms, blocker });
    expect(plan).toMatchObject(expected);
    if (says !== undefined) expect('detail' in plan ? plan.detail : '').toContain(says);
  });
});
