import { describe, expect, it } from 'vitest';
import { type UpkeepMember, type UpkeepObservation, type UpkeepStep, planUpkeep } from './plan.js';

const Mi = 1024 * 1024;
const member = (n: number, dbSize: number, inUse: number, over: Partial<UpkeepMember> = {}): UpkeepMember => ({
  id: `${10000000000000000000n + BigInt(n)}`, name: `main-${n}`, endpoint: `https://10.0.0.${n}:2379`,
  isLearner: false, isLeader: n === 0, started: true, healthy: true, dbSize, dbSizeInUse: inUse, ...over,
});
const id = (n: number) => `${10000000000000000000n + BigInt(n)}`;
const tidy = [member(0, 20 * Mi, 19 * Mi), member(1, 20 * Mi, 19 * Mi), member(2, 20 * Mi, 19 * Mi)];
// 300 MiB files with 250 MiB free on every member: all three want defragmenting.
const bloated = [member(0, 300 * Mi, 50 * Mi), member(1, 300 * Mi, 50 * Mi), member(2, 300 * Mi, 40 * Mi)];

const base: UpkeepObservation = {
  defrag: { enabled: true, minFragmentedBytes: 100 * Mi, minFragmentedPercent: 50 },
  members: tidy,
  quorumConfirmed: true,
  alarms: [],
  quotaBytes: 2048 * Mi,
  membershipIdle: true,
  inconsistent: false,
  revision: undefined,
  compactedRevision: undefined,
};
const defrag = (n: number, dbSize: number, free: number, reason: 'fragmented' | 'noSpace' = 'fragmented'): UpkeepStep => ({ kind: 'defragment', memberId: id(n), name: `main-${n}`, endpoint: `https://10.0.0.${n}:2379`, dbSize, freeBytes: free, reason });
const noSpace = { memberId: id(1), alarm: 'NOSPACE' as const };
const full = (n: number, over: Partial<UpkeepMember> = {}) => member(n, 16 * Mi, 15.9 * Mi, over);
/** Every member defragmented since the last NOSPACE compaction. */
const all = [id(0), id(1), id(2)];

const cases: [string, Partial<UpkeepObservation>, UpkeepStep][] = [
  ['a tidy cluster: nothing', {}, { kind: 'none' }],
  ['fragmented: a follower first, the most free bytes first', { members: bloated }, defrag(2, 300 * Mi, 260 * Mi)],
  ['then the other follower', { members: [bloated[0]!, bloated[1]!, member(2, 40 * Mi, 40 * Mi)] }, defrag(1, 300 * Mi, 250 * Mi)],
  ['only the leader left: leadership moves first, to the tidiest voter', { members: [bloated[0]!, member(1, 50 * Mi, 40 * Mi), member(2, 40 * Mi, 40 * Mi)] }, { kind: 'moveLeader', fromId: id(0), toId: id(2), toName: 'main-2', forMember: 'main-0' }],
  ['equally tidy voters: the first by name', { members: [bloated[0]!, member(1, 50 * Mi, 50 * Mi), member(2, 40 * Mi, 40 * Mi)] }, { kind: 'moveLeader', fromId: id(0), toId: id(1), toName: 'main-1', forMember: 'main-0' }],
  // A CI run: the leader had applied the compaction, the followers not yet (their files as big, still in use).
  ['only the leader fragmented, a follower still applying the compaction: wait, leadership moves once', { members: [member(0, 300 * Mi, 50 * Mi), member(1, 300 * Mi, 290 * Mi), member(2, 60 * Mi, 40 * Mi)] }, { kind: 'wait', reason: 'compactionApplying', applying: { forMember: 'main-0', followers: ['main-1'] } }],
  ['a follower still applying after the wait: leadership moves anyway', { members: [member(0, 300 * Mi, 50 * Mi), member(1, 300 * Mi, 290 * Mi), member(2, 60 * Mi, 40 * Mi)], compactionWaitOver: true }, { kind: 'moveLeader', fromId: id(0), toId: id(1), toName: 'main-1', forMember: 'main-0' }],
  ['a follower with a little more in use than the leader is not waited for', { members: [bloated[0]!, member(1, 50 * Mi, 40 * Mi), member(2, 60 * Mi, 58 * Mi)] }, { kind: 'moveLeader', fromId: id(0), toId: id(2), toName: 'main-2', forMember: 'main-0' }],
  ['the former leader, now a follower', { members: [member(0, 300 * Mi, 50 * Mi, { isLeader: false }), member(1, 50 * Mi, 50 * Mi), member(2, 40 * Mi, 40 * Mi, { isLeader: true })] }, defrag(0, 300 * Mi, 250 * Mi)],
  ['a single member is defragmented in place: nowhere to move leadership', { members: [bloated[0]!] }, defrag(0, 300 * Mi, 250 * Mi)],
  ['a learner is never a leadership target', { members: [bloated[0]!, member(1, 50 * Mi, 50 * Mi, { isLearner: true })] }, defrag(0, 300 * Mi, 250 * Mi)],
  ['below the byte floor: nothing', { members: [member(0, 150 * Mi, 60 * Mi), member(1, 20 * Mi, 19 * Mi), member(2, 20 * Mi, 19 * Mi)] }, { kind: 'none' }],
  ['below the percentage: nothing', { members: [member(0, 1000 * Mi, 600 * Mi), member(1, 1000 * Mi, 600 * Mi, { isLeader: false }), member(2, 20 * Mi, 19 * Mi)] }, { kind: 'none' }],
  ['both thresholds met exactly: defragment', { defrag: { enabled: true, minFragmentedBytes: 100 * Mi, minFragmentedPercent: 50 }, members: [member(0, 20 * Mi, 19 * Mi), member(1, 200 * Mi, 100 * Mi), member(2, 20 * Mi, 19 * Mi)] }, defrag(1, 200 * Mi, 100 * Mi)],
  ['turned off: nothing', { defrag: { enabled: false, minFragmentedBytes: 100 * Mi, minFragmentedPercent: 50 }, members: bloated }, { kind: 'none' }],
  ['a membership or version change runs: wait', { members: bloated, membershipIdle: false }, { kind: 'wait', reason: 'membershipBusy' }],
  ['a member unhealthy: wait', { members: [...bloated.slice(0, 2), { ...bloated[2]!, healthy: false }] }, { kind: 'wait', reason: 'memberUnhealthy' }],
  ['a member not started: wait', { members: [...bloated.slice(0, 2), { ...bloated[2]!, started: false }] }, { kind: 'wait', reason: 'memberUnhealthy' }],
  ['a member that did not answer Status (no endpoint): wait', { members: [...bloated.slice(0, 2), { ...bloated[2]!, endpoint: undefined }] }, { kind: 'wait', reason: 'memberUnhealthy' }],
  ['the member list not confirmed by a quorum: wait', { members: bloated, quorumConfirmed: false }, { kind: 'wait', reason: 'memberUnhealthy' }],
  ['no members observed: wait', { members: [] }, { kind: 'wait', reason: 'memberUnhealthy' }],
  ['data inconsistent: nothing at all, not even NOSPACE recovery', { members: bloated, inconsistent: true, alarms: [noSpace], revision: 10n }, { kind: 'wait', reason: 'inconsistent' }],
  ['a CORRUPT alarm: nothing at all, and it is never disarmed', { members: bloated, alarms: [{ memberId: id(1), alarm: 'CORRUPT' }] }, { kind: 'wait', reason: 'inconsistent' }],
  // NOSPACE
  ['NOSPACE: compact to the current revision first', { members: [full(0), full(1), full(2)], alarms: [noSpace], revision: 500n }, { kind: 'compact', revision: 500n }],
  ['NOSPACE: compact again once the revision moved (the user deleted)', { members: [full(0), full(1), full(2)], alarms: [noSpace], revision: 520n, compactedRevision: 500n }, { kind: 'compact', revision: 520n }],
  ['NOSPACE compacted, data still fills the quota: wait for the user', { members: [full(0), full(1), full(2)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: all }, { kind: 'wait', reason: 'noSpaceNeedsUser' }],
  ['NOSPACE with free pages: defragment a follower even below the usual thresholds, even with defrag off', { defrag: { enabled: false, minFragmentedBytes: 100 * Mi, minFragmentedPercent: 50 }, members: [member(0, 16 * Mi, 2 * Mi), member(1, 16 * Mi, 2 * Mi), member(2, 16 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n }, defrag(1, 16 * Mi, 14 * Mi, 'noSpace')],
  ['NOSPACE: the leader last, after moving leadership', { members: [member(0, 16 * Mi, 2 * Mi), member(1, 2 * Mi, 2 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n }, { kind: 'moveLeader', fromId: id(0), toId: id(1), toName: 'main-1', forMember: 'main-0' }],
  ['NOSPACE: a little free space is not worth a defragmentation', { members: [member(0, 16 * Mi, 15.5 * Mi), member(1, 16 * Mi, 15.5 * Mi), member(2, 16 * Mi, 15.5 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: all }, { kind: 'wait', reason: 'noSpaceNeedsUser' }],
  // etcd counts pages a compaction freed as free only after a later write commits, which NOSPACE
  // refuses: files above the disarm level are defragmented once after each compaction whatever
  // their free bytes read (seen in e2e: 13.6 MiB files reading 1 MiB free, waiting for good).
  ['NOSPACE compacted, free bytes not yet counted: each file above the disarm level defragmented once', { members: [member(0, 13.6 * Mi, 12.6 * Mi), member(1, 13.6 * Mi, 12.6 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: [id(2)] }, defrag(1, 13.6 * Mi, 1 * Mi, 'noSpace')],
  ['NOSPACE compacted, the followers done: the leader after moving leadership', { members: [member(0, 13.6 * Mi, 12.6 * Mi), member(1, 13.6 * Mi, 12.6 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: [id(1), id(2)] }, { kind: 'moveLeader', fromId: id(0), toId: id(2), toName: 'main-2', forMember: 'main-0' }],
  ['NOSPACE: every file well below the quota: disarm', { members: [member(0, 2 * Mi, 2 * Mi), member(1, 2 * Mi, 2 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n }, { kind: 'disarm', alarm: noSpace }],
  ['NOSPACE: 85% of the quota is not enough headroom', { members: [member(0, 13.6 * Mi, 13.5 * Mi), member(1, 2 * Mi, 2 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: all }, { kind: 'wait', reason: 'noSpaceNeedsUser' }],
  ['NOSPACE: just under the quota is not enough headroom', { members: [member(0, 15 * Mi, 14.9 * Mi), member(1, 2 * Mi, 2 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi, revision: 500n, compactedRevision: 500n, noSpaceDefragmented: all }, { kind: 'wait', reason: 'noSpaceNeedsUser' }],
  ['NOSPACE after the user raised the quota: disarm', { members: [full(0), full(1), full(2)], alarms: [noSpace], quotaBytes: 64 * Mi, revision: 500n, compactedRevision: 500n }, { kind: 'disarm', alarm: noSpace }],
  ['NOSPACE while a membership change runs: wait for it', { members: [full(0), full(1), full(2)], alarms: [noSpace], revision: 500n, membershipIdle: false }, { kind: 'wait', reason: 'membershipBusy' }],
  ['NOSPACE without a revision read (the read failed): defragment or disarm still', { members: [member(0, 2 * Mi, 2 * Mi), member(1, 2 * Mi, 2 * Mi), member(2, 2 * Mi, 2 * Mi)], alarms: [noSpace], quotaBytes: 16 * Mi }, { kind: 'disarm', alarm: noSpace }],
];

describe('planUpkeep', () => {
  it.each(cases)('%s', (_title, change, want) => {
    const o = { ...base, ...change };
    const before = JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(planUpkeep(o)).toEqual(want);
    expect(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toBe(before);
  });

  it('a fragmented three-member cluster is defragmented followers first, leader last, each once', () => {
    let members = bloated.map((m) => ({ ...m }));
    const order: string[] = [];
    for (let pass = 0; pass < 10; pass++) {
      const step = planUpkeep({ ...base, members });
      if (step.kind === 'none') break;
      if (step.kind === 'defragment') {
        order.push(step.name);
        members = members.map((m) => (m.id === step.memberId ? { ...m, dbSize: m.dbSizeInUse } : m));
      } else if (step.kind === 'moveLeader') {
        order.push(`lead:${step.toName}`);
        members = members.map((m) => ({ ...m, isLeader: m.id === step.toId }));
      } else throw new Error(`unexpected ${step.kind}`);
    }
    expect(order).toEqual(['main-2', 'main-1', 'lead:main-1', 'main-0']);
  });
});
