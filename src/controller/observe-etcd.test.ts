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

/** A fake of our own narrow interface: only the two reads observeEtcd makes. */
function admin(members: EtcdMember[], statuses: EndpointStatus[]): EtcdAdmin {
  const probes: EndpointProbe[] = statuses.map((s) => ({ endpoint: s.endpoint, status: s }));
  return {
    endpoints: [],
    memberList: () => Promise.resolve({ clusterId: '99', reportedBy: '1000', members }),
    statusAll: () => Promise.resolve(probes),
  } as Partial<EtcdAdmin> as EtcdAdmin;
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
});
