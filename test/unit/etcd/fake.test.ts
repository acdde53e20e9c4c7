import { describe, expect, it } from 'vitest';
import { FakeEtcdAdmin } from './fake.js';

// The fake must refuse what real etcd refuses (shown in test/integration/etcd-*.test.ts).

const url = (i: number, port: number) => `https://10.0.0.${i}:${port}`;
const voters = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `m${i}`, peerURL: url(i, 2380), clientURL: url(i, 2379) }));

describe('FakeEtcdAdmin', () => {
  it('hands out IDs above 2^53 as decimal strings', async () => {
    const fake = new FakeEtcdAdmin(voters(1));
    const [m0] = (await fake.memberList()).members;
    expect(m0!.id).toMatch(/^\d+$/);
    expect(BigInt(m0!.id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect((await fake.status(url(0, 2379))).leaderId).toBe(m0!.id);
  });

  it('adds one learner at a time and promotes it only once started and caught up', async () => {
    const fake = new FakeEtcdAdmin(voters(1));
    const { member } = await fake.memberAddLearner([url(1, 2380)]);
    expect(member).toMatchObject({ name: '', clientURLs: [], isLearner: true });
    await expect(fake.memberAddLearner([url(2, 2380)])).rejects.toMatchObject({ kind: 'TooManyLearners' });
    await expect(fake.memberAddLearner([url(1, 2380)])).rejects.toMatchObject({ kind: 'MemberExists' });
    await expect(fake.memberPromote(member.id)).rejects.toMatchObject({ kind: 'LearnerNotReady', retryable: true });
    fake.startMember(member.id, 'm1', url(1, 2379));
    fake.setCaughtUp(member.id);
    const members = await fake.memberPromote(member.id);
    expect(members.map((m) => [m.name, m.isLearner])).toEqual([['m0', false], ['m1', false]]);
    await expect(fake.memberPromote(member.id)).rejects.toMatchObject({ kind: 'MemberNotLearner' });
  });

  it('refuses changes that would risk quorum and leadership moves to non-voters', async () => {
    const fake = new FakeEtcdAdmin(voters(3));
    const [m0, m1, m2] = (await fake.memberList()).members;
    await expect(fake.memberRemove('18446744073709551557')).rejects.toMatchObject({ kind: 'MemberNotFound', maybeApplied: false });
    fake.setDown(m2!.id);
    await expect(fake.memberRemove(m1!.id)).rejects.toMatchObject({ kind: 'UnhealthyCluster' });
    await expect(fake.memberAddLearner([url(3, 2380)])).rejects.toMatchObject({ kind: 'UnhealthyCluster' });
    expect(await fake.memberRemove(m2!.id)).toHaveLength(2);
    expect(await fake.moveLeader(m1!.id)).toEqual({ fromId: m0!.id, toId: m1!.id });
    await expect(fake.moveLeader('1')).rejects.toMatchObject({ kind: 'BadLeaderTransferee' });
  });

  it('answers a serializable member list without quorum, a linearizable one only with it', async () => {
    const fake = new FakeEtcdAdmin(voters(3));
    const [, m1, m2] = (await fake.memberList()).members;
    fake.setDown(m1!.id);
    fake.setDown(m2!.id);
    await expect(fake.memberList()).rejects.toMatchObject({ kind: 'Unavailable' });
    expect((await fake.memberList({ linearizable: false, endpoint: url(0, 2379) })).members).toHaveLength(3);
    await expect(fake.memberList({ linearizable: false, endpoint: url(1, 2379) })).rejects.toMatchObject({ kind: 'Unavailable' });
  });

  it('fails the next call as told, before changing anything', async () => {
    const fake = new FakeEtcdAdmin(voters(3));
    const [, m1] = (await fake.memberList()).members;
    fake.failNext('memberRemove', 'DeadlineExceeded');
    await expect(fake.memberRemove(m1!.id)).rejects.toMatchObject({ kind: 'DeadlineExceeded', maybeApplied: true });
    expect((await fake.memberList()).members).toHaveLength(3);
    const probes = await fake.statusAll();
    expect(probes.every((p) => 'status' in p)).toBe(true);
  });
});
