import { describe, expect, it } from 'vitest';
import type { EndpointProbe, EndpointStatus, EtcdAdmin, EtcdMember } from '../etcd/types.js';
import { type CertificateFault, EtcdAdminError } from '../etcd/errors.js';
import { NoMemberAnswered, observeEtcd } from './observe-etcd.js';

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

describe('observeEtcd and refused certificates', () => {
  const members = [member(0), member(1), member(2)];
  const refusal = (n: number, fault: CertificateFault, words = 'w'): EndpointProbe => ({
    endpoint: `https://10.0.0.${n}:2379`,
    error: new EtcdAdminError({ kind: 'CertificateRefused', op: 'status', endpoint: `https://10.0.0.${n}:2379`, certificate: { fault, words } }),
  });
  const withProbes = async (fake: EtcdAdmin & { asked: string[] }, extra: EndpointProbe[]) => {
    const own = await fake.statusAll();
    return Object.assign(fake, { statusAll: () => Promise.resolve([...own, ...extra]) });
  };

  it.each<[CertificateFault, string, string]>([
    ['expired', 'certificate has expired', 'serves a certificate that has expired: its health cannot be checked'],
    ['notYetValid', 'certificate is not yet valid', 'serves a certificate that is not valid yet: its health cannot be checked'],
    ['untrusted', 'unable to verify the first certificate', "serves a certificate that was not signed by the cluster's CA (unable to verify the first certificate): its health cannot be checked"],
    ['wrongName', "Hostname/IP does not match certificate's altnames", "serves a certificate that does not name the member's address: its health cannot be checked"],
    ['unusable', 'unsuitable certificate purpose', 'serves a certificate the operator cannot accept (unsuitable certificate purpose): its health cannot be checked'],
    ['clientRefused', 'unknown ca', "refused the operator's client certificate (TLS alert: unknown ca): its health cannot be checked"],
  ])('a member refused on %s (%s) says so, and is marked unverified', async (fault, words, problem) => {
    const view = await observeEtcd(await withProbes(admin(members, [status(0), status(1)]), [refusal(2, fault, words)]), ref);
    expect(view.members[2]).toMatchObject({ healthy: false, problem, certificate: { fault, words } });
    expect(view.quorumConfirmed).toBe(true);
  });

  it('two of three refused: the one that answers is asked for a linearizable read, which confirms the quorum', async () => {
    const fake = await withProbes(admin(members, [status(0)]), [refusal(1, 'untrusted'), refusal(2, 'untrusted')]);
    const view = await observeEtcd(fake, ref);
    expect(fake.asked).toEqual([status(0).endpoint, `linearizable ${status(0).endpoint}`]);
    expect(view.quorumConfirmed).toBe(true);
    expect(view.leaderId).toBe('1000');
    expect(view.members.map((m) => m.certificate?.fault)).toEqual([undefined, 'untrusted', 'untrusted']);
  });

  it('none answers: the error names the endpoints refused on certificates, by the host they must carry', async () => {
    const fake = await withProbes(admin(members, []), [refusal(0, 'expired'), refusal(1, 'expired'), { endpoint: 'https://10.0.0.2:2379', error: new EtcdAdminError({ kind: 'Unavailable', op: 'status' }) }]);
    const endpoints = [0, 1, 2].map((n) => ({ url: `https://10.0.0.${n}:2379`, serverName: `main-${n}.main-peer.db.svc.cluster.local` }));
    const err = await observeEtcd(fake, ref, endpoints).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoMemberAnswered);
    expect((err as NoMemberAnswered).refused.map((r) => [r.host, r.certificate.fault])).toEqual([
      ['main-0.main-peer.db.svc.cluster.local', 'expired'],
      ['main-1.main-peer.db.svc.cluster.local', 'expired'],
    ]);
  });
});
