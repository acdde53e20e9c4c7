import { describe, expect, it } from 'vitest';
import { FakeEtcdAdmin } from '../../test/unit/etcd/fake.js';
import { type ConsistencyResult, type HashAnswer, checkConsistency, compareHashes, divergentMembers } from './consistency.js';

const at = (name: string, hash: string, revision = 100n, compactRevision = 50n): HashAnswer => ({ name, hash: { endpoint: `https://${name}:2379`, memberId: '1', revision, compactRevision, hash } });

const cases: [string, HashAnswer[], ConsistencyResult][] = [
  ['every member the same hash: consistent', [at('a', '7'), at('b', '7'), at('c', '7')], { kind: 'consistent', revision: 100n, members: 3 }],
  ['one member differs: mismatch, the majority first', [at('a', '7'), at('b', '9'), at('c', '7')], { kind: 'mismatch', revision: 100n, groups: [{ hash: '7', members: ['a', 'c'] }, { hash: '9', members: ['b'] }] }],
  ['a member did not answer: inconclusive', [at('a', '7'), { name: 'b', error: 'FutureRevision' }, at('c', '7')], { kind: 'inconclusive', why: 'b: FutureRevision' }],
  ['different compaction points: inconclusive, not a mismatch', [at('a', '7'), at('b', '9', 100n, 60n), at('c', '7')], { kind: 'inconclusive', why: 'members compacted at different revisions' }],
  ['a member hashed another revision: inconclusive', [at('a', '7'), at('b', '7', 101n)], { kind: 'inconclusive', why: 'not every member hashed revision 100' }],
  ['a single member: nothing to compare', [at('a', '7')], { kind: 'inconclusive', why: 'fewer than two members to compare' }],
];

describe('compareHashes', () => {
  it.each(cases)('%s', (_title, answers, want) => {
    expect(compareHashes(100n, answers)).toEqual(want);
  });

  it('names the minority as divergent, or everyone on a tie', () => {
    expect(divergentMembers({ kind: 'mismatch', revision: 1n, groups: [{ hash: '7', members: ['a', 'c'] }, { hash: '9', members: ['b'] }] })).toEqual(['b']);
    expect(divergentMembers({ kind: 'mismatch', revision: 1n, groups: [{ hash: '7', members: ['a'] }, { hash: '9', members: ['b'] }] })).toEqual(['a', 'b']);
  });
});

describe('checkConsistency against the fake etcd', () => {
  const voters = [0, 1, 2].map((i) => ({ name: `m-${i}`, peerURL: `https://m-${i}:2380`, clientURL: `https://m-${i}:2379` }));
  const members = voters.map((v) => ({ name: v.name, endpoint: v.clientURL }));

  it('agrees on equal copies and finds the diverged one', async () => {
    const etcd = new FakeEtcdAdmin(voters);
    expect(await checkConsistency(etcd, members)).toEqual({ kind: 'consistent', revision: 1000n, members: 3 });
    const ids = (await etcd.memberList()).members.map((m) => m.id);
    etcd.divergent.add(ids[1]!);
    const result = await checkConsistency(etcd, members);
    expect(result.kind).toBe('mismatch');
    expect(divergentMembers(result as Extract<ConsistencyResult, { kind: 'mismatch' }>)).toEqual(['m-1']);
  });

  it('a member down makes the round inconclusive, never a mismatch', async () => {
    const etcd = new FakeEtcdAdmin(voters);
    const ids = (await etcd.memberList()).members.map((m) => m.id);
    etcd.setDown(ids[2]!);
    expect((await checkConsistency(etcd, members)).kind).toBe('inconclusive');
  });
});
