import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sampleCluster } from '../resources/fixtures.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { MembershipConfig } from '../resources/membership-config.js';
import { budgetVoters, lagBehind, membersMayTrust, membershipObservation, updateVolumeRecords } from './observation.js';
import type { KubeView } from './observe-kube.js';
import { requeueAfter } from './requeue.js';

const m = (id: string, ordinal: number, healthy = true): MemberView => ({
  id, name: `main-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: undefined, healthy, isLeader: false, problem: undefined,
});
const view = (...members: MemberView[]): EtcdView => ({ clusterId: '1', members, leaderId: undefined, quorumConfirmed: true });

describe('updateVolumeRecords', () => {
  it('records healthy members on the volume their ordinal has', () => {
    expect(updateVolumeRecords({}, view(m('11', 0), m('12', 1, false)), new Map([[0, 'uid-a'], [1, 'uid-b']]))).toEqual({ 'uid-a': '11' });
  });

  it('keeps the record of a member whose volume is gone: it proves the data loss', () => {
    expect(updateVolumeRecords({ 'uid-old': '12' }, view(m('12', 1, false)), new Map([[1, 'uid-new']]))).toEqual({ 'uid-old': '12' });
  });

  it('drops records whose member and volume are both gone', () => {
    expect(updateVolumeRecords({ 'uid-x': '99', 'uid-a': '11' }, view(m('11', 0)), new Map([[0, 'uid-a']]))).toEqual({ 'uid-a': '11' });
  });

  it('changes nothing when etcd was not observed', () => {
    const records = { 'uid-a': '11' };
    expect(updateVolumeRecords(records, undefined, new Map())).toBe(records);
  });

  it('changes nothing from one member\'s own copy of the list (no quorum)', () => {
    const records = { 'uid-x': '99' };
    expect(updateVolumeRecords(records, { ...view(m('11', 0)), quorumConfirmed: false }, new Map([[0, 'uid-a']]))).toBe(records);
  });
});

describe('budgetVoters', () => {
  const five = view(m('10', 0), m('11', 1), m('12', 2), m('13', 3), m('14', 4));
  it.each<[string, EtcdView | undefined, Parameters<typeof budgetVoters>[1], ReturnType<typeof budgetVoters>]>([
    ['the voters observed', five, { kind: 'none' }, { voters: 5, healthy: 5 }],
    ['less the voter this pass removes', five, { kind: 'removeMember', memberId: '14', ordinal: 4, reason: 'scaleDown' }, { voters: 4, healthy: 4 }],
    ['less a removed voter that was down', view(m('10', 0), m('11', 1), m('12', 2), m('13', 3, false)), { kind: 'removeMember', memberId: '13', ordinal: 3, reason: 'scaleDown' }, { voters: 3, healthy: 3 }],
    ['a learner is no voter', view(m('10', 0), { ...m('11', 1), isLearner: true }), { kind: 'promoteLearner', memberId: '11', ordinal: 1 }, { voters: 1, healthy: 1 }],
    ['nothing observed: unknown', undefined, { kind: 'wait', reason: 'etcdUnreachable' }, undefined],
  ])('%s', (_n, etcd, step, expected) => expect(budgetVoters(etcd, step)).toEqual(expected));
});

describe('membersMayTrust: a new CA would lock someone out', () => {
  const cluster = (clusterID?: string) => ({ status: clusterID ? { clusterID } : {} }) as EtcdCluster;
  const kube = (k: Partial<KubeView>): KubeView => ({ statefulSet: undefined, pods: new Map(), volumes: new Map(), claims: new Map(), membership: undefined, ...k });
  const membership = (state: 'new' | 'existing'): MembershipConfig => ({ state, ordinals: [0, 1, 2], memberVolumes: {} });
  it.each<[string, EtcdCluster, KubeView, boolean]>([
    ['a new cluster, nothing created yet', cluster(), kube({}), false],
    ['a bootstrap ConfigMap alone (no StatefulSet, no pod)', cluster(), kube({ membership: membership('new') }), false],
    ['a StatefulSet, even before any member answered', cluster(), kube({ statefulSet: {} }), true],
    ['member pods left without their StatefulSet', cluster(), kube({ pods: new Map([[0, {}]]) }), true],
    ['a cluster ID in status, with nothing running', cluster('abc'), kube({}), true],
    ['a membership ConfigMap saying existing', cluster(), kube({ membership: membership('existing') }), true],
  ])('%s', (_n, c, k, expected) => expect(membersMayTrust(c, k)).toBe(expected));
});

describe('requeueAfter', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it.each([
    ['right after acting', { kind: 'addLearner', ordinal: 3 } as const, 'acted' as const, 500],
    ['while a learner catches up', { kind: 'wait', reason: 'learnerCatchingUp' } as const, 'idle' as const, 250],
    ['while a learner starts', { kind: 'wait', reason: 'learnerStarting' } as const, 'idle' as const, 250],
    ['while a caught-up learner waits for its volume record', { kind: 'wait', reason: 'learnerUnrecorded' } as const, 'idle' as const, 250],
    ['while waiting for an unhealthy member', { kind: 'wait', reason: 'unhealthyNoScaleUp' } as const, 'idle' as const, 2_000],
    ['when etcd was not ready for a step', { kind: 'promoteLearner', memberId: '1', ordinal: 1 } as const, 'notReady' as const, 250],
    ['when converged, to refresh health', { kind: 'none' } as const, 'idle' as const, 30_000],
  ])('%s', (_n, step, outcome, ms) => expect(requeueAfter(step, outcome, undefined, now)).toBe(ms));

  it('comes back for a certificate renewal sooner than the health refresh', () => {
    expect(requeueAfter({ kind: 'none' }, 'idle', new Date(now.getTime() + 5_000), now)).toBe(5_000);
  });

  it('a renewal months away does not slow the look at a learner (every cluster has one)', () => {
    expect(requeueAfter({ kind: 'wait', reason: 'learnerCatchingUp' }, 'idle', new Date(now.getTime() + 90 * 86_400_000), now)).toBe(250);
    expect(requeueAfter({ kind: 'addLearner', ordinal: 3 }, 'notReady', new Date(now.getTime() + 90 * 86_400_000), now)).toBe(250);
  });

  it('an overdue renewal is looked at again in a second, not in a loop', () => {
    expect(requeueAfter({ kind: 'none' }, 'idle', new Date(now.getTime() - 5_000), now)).toBe(1_000);
  });
});

describe('membershipObservation: volumes the user decides about', () => {
  const claim = (created: string, annotations?: Record<string, string>): V1PersistentVolumeClaim => ({ metadata: { uid: `pvc-${created}`, creationTimestamp: created as unknown as Date, annotations } });
  const kube = (claims: [number, V1PersistentVolumeClaim][]): KubeView => ({
    statefulSet: undefined,
    pods: new Map(),
    volumes: new Map(claims.map(([o, c]) => [o, c.metadata!.uid!])),
    claims: new Map(claims),
    membership: undefined,
  });
  const cluster = () => {
    const c = sampleCluster();
    c.metadata.creationTimestamp = '2026-01-01T10:00:00Z' as unknown as Date;
    return c;
  };

  const pass = { now: new Date('2026-01-01T12:00:00Z'), learnerTimeoutMs: 300_000 };

  it('flags claims older than the EtcdCluster, and the reclaim annotation', () => {
    const o = membershipObservation(cluster(), kube([[0, claim('2026-01-01T09:00:00Z')], [1, claim('2026-01-01T10:00:00Z')], [2, claim('2026-01-01T11:00:00Z', { 'etcd.operator.dev/reclaim': 'true' })]]), undefined, { 'pvc-2026-01-01T11:00:00Z': '42' }, pass);
    expect(o.volumes).toEqual([
      { ordinal: 0, memberId: undefined, predatesCluster: true, reclaim: false },
      { ordinal: 1, memberId: undefined, predatesCluster: false, reclaim: false },
      { ordinal: 2, memberId: '42', predatesCluster: false, reclaim: true },
    ]);
    expect(o.retainVolumes).toBe(true);
  });

  it('retains volumes unless the policy is Delete or storage is emptyDir', () => {
    const c = cluster();
    c.spec.storage.retentionPolicy = 'Delete';
    expect(membershipObservation(c, kube([]), undefined, {}, pass).retainVolumes).toBe(false);
    const e = cluster();
    e.spec.storage.type = 'EmptyDir';
    expect(membershipObservation(e, kube([]), undefined, {}, pass).retainVolumes).toBe(false);
  });
});

describe('lagBehind', () => {
  const at = (raftIndex: bigint, raftAppliedIndex: bigint) => ({ endpoint: '', clusterId: '1', memberId: '1', leaderId: '1', raftIndex, raftAppliedIndex, raftTerm: 2n, dbSize: 0, dbSizeInUse: 0, version: '3.6.16', isLearner: false, errors: [] });
  it.each([
    [at(0n, 9_000n), at(10_000n, 10_000n), 1000],
    [at(0n, 10_005n), at(10_000n, 10_000n), 0],
    [undefined, at(10_000n, 10_000n), undefined],
  ])('%#', (member, leader, expected) => expect(lagBehind(member, leader)).toBe(expected));
});

describe('membershipObservation: a pod made before the learner at its ordinal', () => {
  // The learner added at 12:00 for ordinal 1, which has not started; the pod there, by case.
  const learner = { memberId: '77', ordinal: 1, addedAt: '2026-01-01T12:00:00Z' };
  const pod = (created: string, etcd: 'crashing' | 'never' | 'guard' | 'running') => ({
    metadata: { name: 'main-1', creationTimestamp: created as unknown as Date },
    status: {
      initContainerStatuses: [{ name: 'member-init', image: 'i', imageID: '', ready: false, restartCount: 0, ...(etcd === 'guard' ? { state: { running: { startedAt: created as unknown as Date } } } : { state: { terminated: { exitCode: 0 } } }) }],
      containerStatuses: [{ name: 'etcd', image: 'e', imageID: '', ready: false, restartCount: etcd === 'crashing' ? 4 : 0, state: etcd === 'crashing' ? { waiting: { reason: 'CrashLoopBackOff' } } : etcd === 'running' ? { running: {} } : { waiting: { reason: 'PodInitializing' } } }],
    },
  });
  const kube = (p: ReturnType<typeof pod>): KubeView => ({
    statefulSet: undefined,
    pods: new Map([[1, p]]),
    volumes: new Map(),
    claims: new Map(),
    membership: { ordinals: [0, 1, 2], learner } as unknown as MembershipConfig,
  });
  const etcd = view(m('10', 0), { ...m('77', 1, false), isLearner: true, started: false, name: '' }, m('12', 2));
  const pass = { now: new Date('2026-01-01T12:01:00Z'), learnerTimeoutMs: 300_000 };

  it.each<[string, ReturnType<typeof pod>, boolean]>([
    // Before: nothing; the pod crash-looped as the removed member until the learner's deadline, again and again.
    ['made before the add, etcd crash-looping: made again', pod('2026-01-01T11:59:00Z', 'crashing'), true],
    ['made before the add, still in its start guard: a learner starting', pod('2026-01-01T11:59:00Z', 'guard'), false],
    ['made after the add: a learner starting', pod('2026-01-01T12:00:05Z', 'crashing'), false],
    ['made before the add, etcd never ran in it', pod('2026-01-01T11:59:00Z', 'never'), false],
    // A volume lost: the pod waited in its guard for the re-add, which has just let etcd start.
    // Before (CI, membership-faults): such pods were deleted before their learner published.
    ['made before the add, etcd running for the first time: a learner starting', pod('2026-01-01T11:59:00Z', 'running'), false],
    // creationTimestamp has whole seconds: a pod made just after the add reads as made before it.
    ['made in the second of the add, crash-looping: not judged by a timestamp that coarse', pod('2026-01-01T11:59:58Z', 'crashing'), false],
  ])('%s', (_, p, restarted) => {
    const o = membershipObservation(sampleCluster(), kube(p), etcd, {}, pass);
    expect(o.stuckPods?.map((s) => s.ordinal)).toEqual(restarted ? [1] : []);
    if (restarted) expect(o.stuckPods?.[0]?.why).toMatch(/made before learner 77 was added/);
  });
});

describe('membershipObservation: a member held by its start guard', () => {
  // The pod's status alone (the guard running for minutes) is no longer proof: only the view's
  // heldByGuard, set once the guard itself named the member lost (start-guard.ts).
  const longGuard = {
    metadata: { name: 'main-1' },
    status: { initContainerStatuses: [{ name: 'member-init', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: { startedAt: '2026-01-01T11:00:00Z' as unknown as Date } } }] },
  };
  const kube: KubeView = { statefulSet: undefined, pods: new Map([[1, longGuard]]), volumes: new Map(), claims: new Map(), membership: undefined };
  const pass = { now: new Date('2026-01-01T12:01:00Z'), learnerTimeoutMs: 300_000 };
  it.each([
    ['the guard confirmed it', true, true],
    ['only the pod status says so', undefined, false],
  ])('%s', (_, confirmed, held) => {
    const etcd = view(m('10', 0), { ...m('11', 1, false), ...(confirmed ? { heldByGuard: confirmed } : {}) }, m('12', 2));
    expect(membershipObservation(sampleCluster(), kube, etcd, {}, pass).members?.[1]?.held).toBe(held);
  });
});
