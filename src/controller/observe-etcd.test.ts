import { describe, expect, it } from 'vitest';
import type { EndpointProbe, EndpointStatus, EtcdAdmin, EtcdMember } from '../etcd/types.js';
import { observeEtcd } from './observe-etcd.js';

const ref = { name: 'main', namespace: 'db' };
const peer = (n: number) => `https://main-${n}.main-peer.db.svc.cluster.local:2380`;

function member(n: number, over: Partial<EtcdMember> = {}): EtcdMember {
  return { id: String(1000 + n), name: `main-${n}`, peerURLs: [peer(n)], clientURLs: [`https://10.0.0.${n}:2379`], isLearner: false, ...over };
}

function status(n: number, over: Partial<EndpointStatus> = {}): EndpointStatus {
  return { endpoint: `https://10.0.0.${n}:2379`, clusterId: '99', memberId: String(1000 + n), leaderId: '1000', raftIndex: 100n, raftAppliedIndex: 100n, raftTerm: 2n, dbSize: 1, dbSizeInUse: 1, version: '3.6.16', isLearner: false, errors: [], ...over };
}

/**
 * A fake of our own narrow interface: only the reads observeEtcd makes. `quorumAt` lists the
 * endpoints that serve a linearizable read (all by default); every listed status serves a
 * serializable one, and `asked` records which endpoint was asked for it.
 */
function admin(members: EtcdMember[], statuses: EndpointStatus[], quorumAt?: string[]): EtcdAdmin & { asked: string[] } {
  const probes: EndpointProbe[] = statuses.map((s) => ({ endpoint: s.endpoint, status: s }));
  const asked: string[] = [];
  const list = { clusterId: '99', reportedBy: '1000', members };
  return {
    endpoints: [],
    asked,
    memberList: (o: { linearizable?: boolean; endpoint?: string } = {}) => {
      if (o.linearizable === false) {
        asked.push(o.endpoint ?? '');
        return Promise.resolve(list);
      }
      asked.push(`linearizable ${o.endpoint ?? ''}`);
      const serves = quorumAt === undefined || (o.endpoint !== undefined && quorumAt.includes(o.endpoint));
      return serves ? Promise.resolve(list) : Promise.reject(new Error('context deadline exceeded'));
    },
    statusAll: () => Promise.resolve(probes),
  } as Partial<EtcdAdmin> as EtcdAdmin & { asked: string[] };
}

describe('observeEtcd', () => {
  it('keeps a learner not started until it publishes its name', async () => {
    const learner = member(3, { name: '', clientURLs: [], isLearner: true });
    const view = await observeEtcd(admin([member(0), member(1), member(2), learner], [status(0), status(1), status(2)]), ref);
    expect(view.members[3]).toMatchObject({ ordinal: 3, started: false, healthy: false, problem: 'not started' });
  });

  it('reports a named member that does not answer as started but not answering', async () => {
    const view = await observeEtcd(admin([member(0), member(1), member(2)], [status(0), status(1)]), ref);
    expect(view.members[2]).toMatchObject({ started: true, healthy: false, problem: 'not answering' });
    expect(view.leaderId).toBe('1000');
  });

  it('confirms quorum when any one member serves the linearizable list', async () => {
    const view = await observeEtcd(admin([member(0), member(1), member(2)], [status(0), status(1), status(2)], [status(2).endpoint]), ref);
    expect(view.quorumConfirmed).toBe(true);
    expect(view.members.every((m) => m.healthy)).toBe(true);
  });

  it('without quorum, keeps the member list from the most advanced survivor and counts nobody healthy', async () => {
    const survivors = [status(0, { leaderId: '0', raftAppliedIndex: 90n }), status(1, { leaderId: '1001', raftAppliedIndex: 120n })];
    const fake = admin([member(0), member(1), member(2)], survivors, []);
    const view = await observeEtcd(fake, ref);
    // Status already shows 1 of 3 voters with a leader: no linearizable read is waited for.
    expect(fake.asked).toEqual([status(1).endpoint]);
    expect(view.quorumConfirmed).toBe(false);
    expect(view.leaderId).toBeUndefined();
    expect(view.members.map((m) => [m.name, m.healthy, m.isLeader, m.problem])).toEqual([
      ['main-0', false, false, 'no leader'],
      ['main-1', false, false, 'no quorum'],
      ['main-2', false, false, 'not answering'],
    ]);
    expect(view.members[1]!.status?.raftAppliedIndex).toBe(120n);
  });

  it('throws when no member answers Status', async () => {
    await expect(observeEtcd(admin([member(0)], []), ref)).rejects.toThrow(/no member answered/);
  });

  it('with enough voters answering, waits for a linearizable read and says so when none is served', async () => {
    const fake = admin([member(0), member(1), member(2)], [status(0), status(1)], []);
    const view = await observeEtcd(fake, ref);
    expect(fake.asked).toEqual([status(0).endpoint, `linearizable ${status(0).endpoint}`, `linearizable ${status(1).endpoint}`]);
    expect(view.quorumConfirmed).toBe(false);
    expect(view.members.map((m) => m.problem)).toEqual(['no quorum', 'no quorum', 'not answering']);
  });
});

describe('observeEtcd and alarms', () => {
  const members = [member(0), member(1), member(2)];
  it('a NOSPACE alarm (listed by every member) leaves members healthy and the quorum confirmed: upkeep reports it', async () => {
    const alarm = 'memberID:1000 alarm:NOSPACE ';
    const view = await observeEtcd(admin(members, [0, 1, 2].map((n) => status(n, { errors: [alarm] }))), ref);
    expect(view.quorumConfirmed).toBe(true);
    expect(view.members.map((m) => m.healthy)).toEqual([true, true, true]);
  });

  it('a CORRUPT alarm still makes members unhealthy: etcd serves nothing then', async () => {
    const view = await observeEtcd(admin(members, [0, 1, 2].map((n) => status(n, { errors: ['memberID:1001 alarm:CORRUPT '] }))), ref);
    expect(view.members.map((m) => m.problem)).toEqual(['memberID:1001 alarm:CORRUPT ', 'memberID:1001 alarm:CORRUPT ', 'memberID:1001 alarm:CORRUPT ']);
  });
});
