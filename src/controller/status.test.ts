import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../etcd/types.js';
import { sampleCluster } from '../resources/fixtures.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { computeStatus } from './status.js';

const ref = { name: 'main', namespace: 'db' };
const now = new Date('2026-11-23T12:00:00Z');

function status(id: string, leaderId: string): EndpointStatus {
  return { endpoint: '', clusterId: '99', memberId: id, leaderId, raftIndex: 10n, raftAppliedIndex: 10n, raftTerm: 2n, dbSize: 20480, dbSizeInUse: 16384, version: '3.6.16', isLearner: false, errors: [] };
}

function member(ordinal: number, over: Partial<MemberView> = {}): MemberView {
  const id = String(1000 + ordinal);
  return { id, name: `main-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: status(id, '1000'), healthy: true, isLeader: ordinal === 0, problem: undefined, ...over };
}

const view = (...members: MemberView[]): EtcdView => ({ clusterId: '99', members, leaderId: '1000', quorumConfirmed: true });
const inputs = { ref, problems: [], caSecretName: 'main-ca', clusterDomain: 'cluster.local', now };
const cond = (s: ReturnType<typeof computeStatus>, type: string) => s.conditions!.find((c) => c.type === type)!;

describe('computeStatus', () => {
  it('reports a healthy cluster: members, leader, IDs in hex, conditions with observedGeneration', () => {
    const s = computeStatus({ ...inputs, cluster: sampleCluster(), etcd: view(member(0), member(1), member(2)), step: { kind: 'none' } });
    expect(s).toMatchObject({ observedGeneration: 1, replicas: 3, readyReplicas: 3, leader: 'main-0', clusterID: '63', currentVersion: '3.6.16' });
    expect(s.selector).toBe('app.kubernetes.io/name=etcd,app.kubernetes.io/instance=main,app.kubernetes.io/component=member');
    expect(s.members![0]).toMatchObject({ name: 'main-0', memberID: '3e8', role: 'Voter', isLeader: true, healthy: true, dbSizeBytes: 20480 });
    expect(cond(s, 'Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy', observedGeneration: 1 });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Reconciled' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'False', reason: 'Healthy' });
    expect(s.clientEndpoint).toBe('https://main-client.db.svc.cluster.local:2379');
  });

  it('stays Available with one of three members down, and says which one is Degraded', () => {
    const s = computeStatus({ ...inputs, cluster: sampleCluster(), etcd: view(member(0), member(1, { healthy: false, problem: 'not answering', status: undefined }), member(2)), step: { kind: 'none' } });
    expect(cond(s, 'Available').status).toBe('True');
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'MemberUnhealthy', message: 'main-1: not answering' });
    expect(s.readyReplicas).toBe(2);
  });

  it('loses availability without quorum', () => {
    const down = { healthy: false, problem: 'not answering', status: undefined };
    const s = computeStatus({ ...inputs, cluster: sampleCluster(), etcd: view(member(0), member(1, down), member(2, down)), step: { kind: 'none' } });
    expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'QuorumLost' });
  });

  it('counts learners apart from voters and names the step in Progressing', () => {
    const s = computeStatus({ ...inputs, cluster: sampleCluster({ replicas: 5 }), etcd: view(member(0), member(1), member(2), member(3, { isLearner: true })), step: { kind: 'promoteLearner', memberId: '1003', ordinal: 3 } });
    expect(s.members![3]!.role).toBe('Learner');
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'PromotingLearner' });
    expect(cond(s, 'Available').message).toBe('3 of 3 voting members healthy');
  });

  it.each([
    ['unhealthyNoScaleUp', 'ScalingUp'],
    ['unhealthyNoScaleDown', 'ScalingDown'],
    ['unhealthyNoRestart', 'RestartingMember'],
    ['templatePending', 'RestartingMember'],
    ['learnerCatchingUp', 'AddingLearner'],
    ['upgradeWaiting', 'UpgradeWaiting'],
  ] as const)('keeps Progressing True while it waits (%s), never reporting a stalled change as reconciled', (reason, expected) => {
    const s = computeStatus({ ...inputs, cluster: sampleCluster(), etcd: view(member(0), member(1), member(2)), step: { kind: 'wait', reason } });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: expected });
    expect(cond(s, 'Progressing').message).toMatch(/^waiting /);
  });

  it('says what an upgrade waits for, and which member it upgrades', () => {
    const etcd = view(member(0), member(1), member(2));
    const waiting = computeStatus({ ...inputs, cluster: sampleCluster(), etcd, step: { kind: 'wait', reason: 'upgradeWaiting', detail: 'main-1 is not healthy (alarm:NOSPACE)' } });
    expect(cond(waiting, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'UpgradeWaiting',
      message: 'waiting for every member to be a healthy, caught-up voter before upgrading the next one: main-1 is not healthy (alarm:NOSPACE)',
    });
    const rolling = computeStatus({ ...inputs, cluster: sampleCluster(), etcd, step: { kind: 'restartMember', memberId: '1002', ordinal: 2, toVersion: '3.6.16' } });
    expect(cond(rolling, 'Progressing')).toMatchObject({ status: 'True', reason: 'Upgrading', message: 'restarting member 2 to run etcd 3.6.16' });
  });

  it('keeps the last member count and cluster ID while etcd does not answer', () => {
    const cluster = sampleCluster();
    cluster.status = { replicas: 3, clusterID: '63' };
    const s = computeStatus({ ...inputs, cluster, etcd: undefined, step: { kind: 'wait', reason: 'etcdUnreachable' } });
    expect(s).toMatchObject({ replicas: 3, readyReplicas: 0, clusterID: '63' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'QuorumLost' });
  });

  it('reports certificate problems as Degraded with their reason', () => {
    const s = computeStatus({ ...inputs, problems: [{ reason: 'CASecretMissing', message: 'Secret db/mine does not exist' }], cluster: sampleCluster(), etcd: undefined, step: undefined });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'CASecretMissing', message: 'Secret db/mine does not exist' });
  });

  it('moves lastTransitionTime only when a condition status changes', () => {
    const cluster = sampleCluster();
    const first = computeStatus({ ...inputs, cluster, etcd: view(member(0), member(1), member(2)), step: { kind: 'none' } });
    cluster.status = first;
    const later = new Date(now.getTime() + 60_000);
    const second = computeStatus({ ...inputs, now: later, cluster, etcd: view(member(0), member(1), member(2)), step: { kind: 'addLearner', ordinal: 3 } });
    expect(cond(second, 'Available').lastTransitionTime).toBe(now.toISOString());
    expect(cond(second, 'Progressing').lastTransitionTime).toBe(later.toISOString());
  });

  it('marks a paused cluster as not progressing, reason Paused', () => {
    const s = computeStatus({ ...inputs, cluster: sampleCluster({ paused: true }), etcd: view(member(0)), step: { kind: 'addLearner', ordinal: 1 } });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
  });

  it('names a stuck learner, since when and until when, while waiting for it and after it timed out', () => {
    const cluster = sampleCluster({ replicas: 5 });
    const learner = { memberId: '1003', ordinal: 3, addedAt: '2026-11-23T11:58:00.000Z', deadline: '2026-11-23T12:03:00.000Z' };
    const waiting = computeStatus({ ...inputs, cluster, etcd: view(member(0), member(1), member(2)), step: { kind: 'wait', reason: 'learnerStarting', learner } });
    expect(cond(waiting, 'Progressing')).toMatchObject({ status: 'True', reason: 'AddingLearner', message: 'waiting for learner main-3 (3eb) to start: added at 2026-11-23T11:58:00.000Z, removed if not ready by 2026-11-23T12:03:00.000Z' });
    const retry = { memberId: '1003', ordinal: 3, addedAt: learner.addedAt, why: 'notCaughtUp' as const, failures: 2, retryAt: '2026-11-23T12:13:00.000Z' };
    const backoff = computeStatus({ ...inputs, cluster, etcd: view(member(0), member(1), member(2)), step: { kind: 'wait', reason: 'learnerRetryBackoff', retry } });
    expect(cond(backoff, 'Progressing')).toMatchObject({ status: 'True', reason: 'LearnerRetryBackoff' });
    expect(cond(backoff, 'Progressing').message).toMatch(/^learner main-3 \(3eb\), added at 2026-11-23T11:58:00.000Z, had not caught up with the leader by its deadline: removed, adding again after 2026-11-23T12:13:00.000Z/);
  });

  describe('without quorum', () => {
    /** Two of three gone, the survivor's own copy of the member list: nobody healthy, no leader. */
    const lost = (): EtcdView => ({
      clusterId: '99',
      leaderId: undefined,
      quorumConfirmed: false,
      members: [
        member(0, { healthy: false, isLeader: false, problem: 'no leader', status: { ...status('1000', '0'), raftAppliedIndex: 4242n } }),
        member(1, { healthy: false, isLeader: false, problem: 'not answering', status: undefined }),
        member(2, { healthy: false, isLeader: false, problem: 'not answering', status: undefined }),
      ],
    });
    const formed = () => {
      const cluster = sampleCluster();
      cluster.status = computeStatus({ ...inputs, cluster, etcd: view(member(0), member(1), member(2)), step: { kind: 'none' } });
      return cluster;
    };

    it('says QuorumLost and names the survivor with its applied index', () => {
      const s = computeStatus({ ...inputs, cluster: formed(), etcd: lost(), step: { kind: 'wait', reason: 'quorumLost' } });
      expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'QuorumLost' });
      expect(cond(s, 'Available').message).toBe('quorum lost: 0 of 3 voting members healthy, 2 needed; answering: main-0 (applied index 4242, no leader); not answering: main-1, main-2');
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'QuorumLost' });
      expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'MemberUnhealthy' });
      expect(s.members!.map((m) => [m.name, m.healthy])).toEqual([['main-0', false], ['main-1', false], ['main-2', false]]);
      expect(s.leader).toBeUndefined();
    });

    /** Every member up, none leading: the leader just died and its followers are electing. */
    const electing = (): EtcdView => ({
      clusterId: '99',
      leaderId: undefined,
      quorumConfirmed: false,
      members: [0, 1, 2].map((o) => member(o, { healthy: false, isLeader: false, problem: o === 2 ? 'not answering' : 'no leader', status: o === 2 ? undefined : status(String(1000 + o), '0') })),
    });

    it('says NoLeader, not QuorumLost, while members that could form a quorum elect a leader', () => {
      const s = computeStatus({ ...inputs, cluster: formed(), etcd: electing(), step: { kind: 'wait', reason: 'quorumLost' } });
      expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'NoLeader' });
      expect(cond(s, 'Available').message).toBe('no leader: 2 of 3 voting members answer, enough for a quorum, but none leads one (an election, or members that cannot reach each other); reported as a lost quorum if it lasts 30 s');
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'NoLeader' });
      expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'MemberUnhealthy' });
    });

    it('says QuorumLost once members that answer have had no leader for 30 s', () => {
      const cluster = formed();
      const first = computeStatus({ ...inputs, cluster, etcd: electing(), step: { kind: 'wait', reason: 'quorumLost' } });
      const still = (ms: number) => computeStatus({ ...inputs, now: new Date(now.getTime() + ms), cluster: { ...cluster, status: first }, etcd: electing(), step: { kind: 'wait', reason: 'quorumLost' } });
      expect(cond(still(29_000), 'Available')).toMatchObject({ status: 'False', reason: 'NoLeader' });
      expect(cond(still(30_000), 'Available')).toMatchObject({ status: 'False', reason: 'QuorumLost' });
      expect(cond(still(30_000), 'Progressing')).toMatchObject({ status: 'True', reason: 'QuorumLost' });
    });

    it('a member list no quorum confirmed (a linearizable read that timed out) with every member up: NoLeader', () => {
      const e: EtcdView = { ...view(member(0), member(1), member(2)), leaderId: undefined, quorumConfirmed: false };
      for (const m of e.members) Object.assign(m, { healthy: false, isLeader: false, problem: 'no quorum' });
      const s = computeStatus({ ...inputs, cluster: formed(), etcd: e, step: { kind: 'wait', reason: 'quorumLost' } });
      expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'NoLeader' });
    });

    it('latches no cluster ID from one member\'s own copy of the list', () => {
      const cluster = sampleCluster();
      const s = computeStatus({ ...inputs, cluster, etcd: { ...lost(), clusterId: '77' }, step: { kind: 'wait', reason: 'quorumLost' } });
      expect(s.clusterID).toBeUndefined();
      expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'Bootstrapping' });
    });

    it('keeps the last known members, none healthy, when no member answers at all', () => {
      const s = computeStatus({ ...inputs, cluster: formed(), etcd: undefined, step: { kind: 'wait', reason: 'etcdUnreachable' } });
      expect(s.members!.map((m) => [m.name, m.memberID, m.healthy, m.isLeader])).toEqual([['main-0', '3e8', false, false], ['main-1', '3e9', false, false], ['main-2', '3ea', false, false]]);
      expect(s).toMatchObject({ replicas: 3, readyReplicas: 0, clusterID: '63' });
      expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'QuorumLost', message: 'no member answers: quorum lost or every member down; last known members: main-0, main-1, main-2' });
      expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'MemberUnhealthy', message: 'no member answers' });
    });
  });
});
