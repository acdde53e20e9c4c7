import { describe, expect, it } from 'vitest';
import { sampleCluster } from '../resources/fixtures.js';
import { type IdentityObservation, adoptedClusterId, clusterIdGate, expectedClusterId, identityOf, predatingVolumeGate } from './identity.js';
import type { MembershipObservation, MembershipStep, ObservedVolume } from './membership.js';

const id = (over: Partial<IdentityObservation>): IdentityObservation => ({ expected: 'c1', answers: [{ by: 'member list', clusterId: 'c1' }], ...over });
const answer = (by: string, clusterId: string) => ({ by, clusterId });

const idCases: [string, Partial<IdentityObservation>, MembershipStep | undefined][] = [
  ['members answer with the latched ID: pass', { answers: [answer('member list', 'c1'), answer('a-0', 'c1'), answer('a-1', 'c1')] }, undefined],
  ['nobody answers: nothing to compare, pass', { answers: [] }, undefined],
  ['nothing latched yet, members agree: pass (this answer latches)', { expected: undefined, answers: [answer('member list', 'c2'), answer('a-0', 'c2')] }, undefined],
  [
    'members answer with another ID than the latched one: stop',
    { answers: [answer('member list', 'c2'), answer('a-0', 'c2')] },
    { kind: 'awaitDecision', decision: { reason: 'clusterIdMismatch', expected: 'c1', answers: [answer('member list', 'c2'), answer('a-0', 'c2')] } },
  ],
  [
    'one pod of ours answers for another cluster: stop',
    { answers: [answer('member list', 'c1'), answer('a-0', 'c1'), answer('a-3', 'c9')] },
    { kind: 'awaitDecision', decision: { reason: 'clusterIdMismatch', expected: 'c1', answers: [answer('member list', 'c1'), answer('a-0', 'c1'), answer('a-3', 'c9')] } },
  ],
  [
    'nothing latched yet, members disagree: stop',
    { expected: undefined, answers: [answer('member list', 'c1'), answer('a-1', 'c2')] },
    { kind: 'awaitDecision', decision: { reason: 'clusterIdMismatch', expected: undefined, answers: [answer('member list', 'c1'), answer('a-1', 'c2')] } },
  ],
];

const vol = (ordinal: number, over: Partial<ObservedVolume> = {}): ObservedVolume => ({ ordinal, memberId: undefined, ...over });
const boot = (over: Partial<MembershipObservation>): MembershipObservation => ({ desired: 3, statefulSetReplicas: undefined, knownMembers: 0, members: undefined, volumes: [], recordedMembers: new Set(), learnerTimeoutMs: 300_000, now: 0, ...over });
const old = (ordinal: number) => vol(ordinal, { predatesCluster: true });

const volumeCases: [string, Partial<MembershipObservation>, string | undefined, MembershipStep | undefined][] = [
  ['bootstrap on no volumes: pass', {}, undefined, undefined],
  ['bootstrap on volumes made for this cluster (an earlier StatefulSet of it): pass', { volumes: [vol(0), vol(1)] }, undefined, undefined],
  ['bootstrap over volumes older than the EtcdCluster: stop, naming them', { volumes: [old(2), old(0), old(1)] }, undefined, { kind: 'awaitDecision', decision: { reason: 'volumesPredateCluster', ordinals: [0, 1, 2] } }],
  ['only the ordinals the StatefulSet would start count', { volumes: [vol(0), old(4)] }, undefined, undefined],
  ['one old volume among new ones is enough to stop', { volumes: [vol(0), old(1)] }, undefined, { kind: 'awaitDecision', decision: { reason: 'volumesPredateCluster', ordinals: [1] } }],
  ['adopted (a cluster ID is expected): the StatefulSet starts on the old volumes', { volumes: [old(0), old(1), old(2)] }, 'c1', undefined],
  ['the StatefulSet exists: not a bootstrap, the planner decides', { statefulSetReplicas: 3, volumes: [old(0)] }, undefined, undefined],
  ['StatefulSet deleted after this object formed (cluster ID latched): recreated on its volumes', { knownMembers: 3, volumes: [old(0)] }, 'c1', undefined],
  [
    'an old object\'s membership ConfigMap, not yet collected, does not let old volumes through',
    { knownMembers: 5, volumes: [old(0), old(3)] },
    undefined,
    { kind: 'awaitDecision', decision: { reason: 'volumesPredateCluster', ordinals: [0, 3] } },
  ],
];

describe('clusterIdGate', () => {
  it.each(idCases)('%s', (_name, over, expected) => {
    expect(clusterIdGate(id(over))).toEqual(expected);
  });
});

describe('predatingVolumeGate', () => {
  it.each(volumeCases)('%s', (_name, over, expectedId, expected) => {
    expect(predatingVolumeGate(boot(over), expectedId)).toEqual(expected);
  });
});

describe('the expected cluster ID', () => {
  const withAnnotation = (value: string | undefined, latched?: string) => {
    const c = sampleCluster();
    if (value !== undefined) c.metadata.annotations = { 'etcd.operator.dev/adopt-cluster-id': value };
    if (latched) c.status = { clusterID: latched };
    return c;
  };
  it.each([
    ['nothing latched, nothing adopted', undefined, undefined, undefined],
    ['latched in status', undefined, 'cdf818194e3a8c32', 'cdf818194e3a8c32'],
    ['adopted, in etcd spelling', 'CDF818194E3A8C32', undefined, 'cdf818194e3a8c32'],
    ['adopted with 0x and leading zeros', ' 0x00ab ', undefined, 'ab'],
    ['adoption overrides what status latched: the user decided', 'ab', 'cd', 'ab'],
    ['not hex: kept as written, so it matches nothing', 'old-cluster', undefined, 'old-cluster'],
    ['an empty annotation adopts nothing', '', 'cd', 'cd'],
  ])('%s', (_name, annotation, latched, expected) => {
    expect(expectedClusterId(withAnnotation(annotation, latched))).toBe(expected);
  });

  it('collects the member list and every endpoint that answered, by pod name', () => {
    const c = withAnnotation('ff');
    const etcd = { clusterId: '255', members: [], leaderId: undefined, quorumConfirmed: true, endpointClusterIds: { 'https://10.0.0.1:2379': '255', 'https://10.0.0.2:2379': '1' } };
    const endpoints = [
      { url: 'https://10.0.0.1:2379', serverName: 'main-0.main-peer.db.svc.cluster.local' },
      { url: 'https://10.0.0.2:2379', serverName: 'main-1.main-peer.db.svc.cluster.local' },
    ];
    const o = identityOf(c, etcd, endpoints);
    expect(o).toEqual({ expected: 'ff', answers: [answer('member list', 'ff'), answer('main-0', 'ff'), answer('main-1', '1')] });
    expect(clusterIdGate(o)?.kind).toBe('awaitDecision');
    expect(adoptedClusterId(sampleCluster())).toBeUndefined();
    expect(identityOf(sampleCluster(), undefined, endpoints).answers).toEqual([]);
  });
});
