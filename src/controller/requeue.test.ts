import { describe, expect, it } from 'vitest';
import type { Condition, EtcdClusterStatus } from '../api/types.generated.js';
import type { EndpointStatus } from '../etcd/types.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { refreshMs, requeueAfter, settled, settledRefreshMs } from './requeue.js';

const now = new Date('2026-01-01T00:00:00Z');
const condition = (type: string, status: 'True' | 'False', reason: string): Condition => ({ type, status, reason, message: '', lastTransitionTime: now.toISOString() });
const quiet: Condition[] = [condition('Available', 'True', 'QuorumHealthy'), condition('Progressing', 'False', 'Converged'), condition('Degraded', 'False', 'AsExpected')];

function member(ordinal: number, revision = 42n, over: Partial<MemberView> = {}): MemberView {
  const id = String(1000 + ordinal);
  const status = { memberId: id, leaderId: '1000', raftTerm: 2n, revision } as EndpointStatus;
  return { id, name: `main-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status, healthy: true, isLeader: ordinal === 0, problem: undefined, ...over };
}
const view = (...members: MemberView[]): EtcdView => ({ clusterId: '1', members, leaderId: '1000', quorumConfirmed: true });
const three = view(member(0), member(1), member(2));
const status = (over: Partial<EtcdClusterStatus> = {}): EtcdClusterStatus => ({ readyReplicas: 3, conditions: quiet, lastRevision: { revision: 42, observedAt: now.toISOString() }, ...over });

describe('settled: a cluster refreshed every 60 s instead of 30 s', () => {
  it.each([
    ['converged, healthy, every pod Ready, nothing written since the latch', status(), three, true],
    ['a write since status.lastRevision was latched (the latch must stay fresh)', status(), view(member(0, 43n), member(1, 43n), member(2, 43n)), false],
    ['a follower behind the latch', status(), view(member(0), member(1, 41n), member(2)), false],
    ['no revision latched yet', status({ lastRevision: undefined }), three, false],
    ['a pod not Ready', status({ readyReplicas: 2 }), three, false],
    ['a member unhealthy', status(), view(member(0), member(1, 42n, { healthy: false }), member(2)), false],
    ['a member not answering', status(), view(member(0), member(1, 42n, { status: undefined, healthy: false }), member(2)), false],
    ['a learner', status(), view(member(0), member(1), member(2), member(3, 42n, { isLearner: true })), false],
    ['fewer members than replicas', status(), view(member(0), member(1)), false],
    ['no leader', status(), { ...three, leaderId: undefined }, false],
    ['a member list no quorum served', status(), { ...three, quorumConfirmed: false }, false],
    ['etcd not observed', status(), undefined, false],
    ['Progressing', status({ conditions: [quiet[0]!, condition('Progressing', 'True', 'ScalingUp'), quiet[2]!] }), three, false],
    ['Degraded (a certificate problem, an alarm, a refusal)', status({ conditions: [quiet[0]!, quiet[1]!, condition('Degraded', 'True', 'CertificateInvalid')] }), three, false],
    ['NoLeader, within its grace', status({ conditions: [condition('Available', 'False', 'NoLeader'), quiet[1]!, quiet[2]!] }), three, false],
  ] as const)('%s -> %s', (_n, s, etcd, expected) => expect(settled(s, s.lastRevision, etcd, 3)).toBe(expected));

  it('steady writes are not settled, although this very pass latched the revision the members report', () => {
    const latchedNow = status({ lastRevision: { revision: 43, observedAt: now.toISOString() } });
    const members = view(member(0, 43n), member(1, 43n), member(2, 43n));
    expect(settled(latchedNow, { revision: 42, observedAt: new Date(now.getTime() - 31_000).toISOString() }, members, 3)).toBe(false);
    expect(settled(latchedNow, latchedNow.lastRevision, members, 3)).toBe(true);
  });
});

describe('requeueAfter: the refresh of a settled cluster', () => {
  it('is 60 s for a settled cluster with nothing to do, 30 s otherwise', () => {
    expect(requeueAfter({ kind: 'none' }, 'idle', undefined, now, true)).toBe(settledRefreshMs);
    expect(requeueAfter({ kind: 'none' }, 'idle', undefined, now, false)).toBe(refreshMs);
    expect(settledRefreshMs).toBe(60_000);
  });

  it('never slows a pass that acts, waits or has a renewal due', () => {
    expect(requeueAfter({ kind: 'addLearner', ordinal: 3 }, 'acted', undefined, now, true)).toBe(500);
    expect(requeueAfter({ kind: 'wait', reason: 'learnerCatchingUp' }, 'idle', undefined, now, true)).toBe(250);
    expect(requeueAfter({ kind: 'wait', reason: 'unhealthyNoScaleUp' }, 'idle', undefined, now, true)).toBe(2_000);
    expect(requeueAfter({ kind: 'none' }, 'idle', new Date(now.getTime() + 45_000), now, true)).toBe(45_000);
  });
});
