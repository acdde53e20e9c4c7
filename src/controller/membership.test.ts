import { describe, expect, it } from 'vitest';
import { type MembershipObservation, type MembershipStep, type ObservedMember, planMembership } from './membership.js';

/** A healthy started voter at `ordinal`, with ID 1000+ordinal as a string. */
function m(ordinal: number, over: Partial<ObservedMember> = {}): ObservedMember {
  return { id: String(1000 + ordinal), ordinal, started: true, isLearner: false, healthy: true, isLeader: ordinal === 0, caughtUp: true, ...over };
}

const vols = (...ordinals: number[]) => ordinals.map((o) => ({ ordinal: o, memberId: String(1000 + o) }));
const recorded = (...ordinals: number[]) => new Set(ordinals.map((o) => String(1000 + o)));

function obs(over: Partial<MembershipObservation>): MembershipObservation {
  return {
    desired: 3,
    statefulSetReplicas: 3,
    knownMembers: 3,
    members: [m(0), m(1), m(2)],
    volumes: vols(0, 1, 2),
    recordedMembers: recorded(0, 1, 2),
    ...over,
  };
}

const cases: [string, Partial<MembershipObservation>, MembershipStep][] = [
  ['bootstrap: no StatefulSet, never formed', { statefulSetReplicas: undefined, knownMembers: 0, members: undefined, volumes: [] }, { kind: 'createStatefulSet', replicas: 3, bootstrap: true }],
  ['StatefulSet deleted after the cluster formed: recreate at the known size', { desired: 5, statefulSetReplicas: undefined, members: undefined }, { kind: 'createStatefulSet', replicas: 3, bootstrap: false }],
  ['StatefulSet exists, etcd not answering yet', { members: undefined }, { kind: 'wait', reason: 'etcdUnreachable' }],
  ['membership matches', {}, { kind: 'none' }],
  ['scale up 3 -> 5: add one learner at the lowest free ordinal', { desired: 5 }, { kind: 'addLearner', ordinal: 3 }],
  ['scale up: learner added, pod not yet created', { desired: 5, members: [m(0), m(1), m(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startLearner' }],
  ['scale up: learner pod exists, process not started', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'wait', reason: 'learnerStarting' }],
  ['scale up: learner started, not caught up', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, caughtUp: false })] }, { kind: 'wait', reason: 'learnerCatchingUp' }],
  ['scale up: learner caught up is promoted', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true })] }, { kind: 'promoteLearner', memberId: '1003', ordinal: 3 }],
  ['scale up waits while a member is down', { desired: 5, members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'wait', reason: 'unhealthyNoScaleUp' }],
  ['scale up past a stale volume of a removed member, retentionPolicy Delete: delete it first', { desired: 5, retainVolumes: false, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'stale' }],
  ['scale up past a retained volume of a removed member: wait for the user', { desired: 5, retainVolumes: true, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: '999', predatesCluster: false } }],
  ['retention unspecified counts as Retain (the API default): wait for the user', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: '999', predatesCluster: false } }],
  ['a retained volume the user annotated for reclaim is deleted', { desired: 5, retainVolumes: true, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999', reclaim: true }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'reclaimed' }],
  ['a volume older than the EtcdCluster is never deleted on its own, even with Delete', { desired: 5, retainVolumes: false, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, predatesCluster: true }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: undefined, predatesCluster: true } }],
  ['a volume older than the EtcdCluster, annotated for reclaim, is deleted', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, predatesCluster: true, reclaim: true }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'reclaimed' }],
  ['an empty volume at the free ordinal (no record, made for this cluster) is used as it is', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined }] }, { kind: 'addLearner', ordinal: 3 }],
  ['a reclaim annotation on a volume nobody ran on changes nothing', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, reclaim: true }] }, { kind: 'addLearner', ordinal: 3 }],
  ['a retained volume waits only while the cluster is healthy enough to scale up at all', { desired: 5, members: [m(0), m(1, { healthy: false }), m(2)], volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'wait', reason: 'unhealthyNoScaleUp' }],
  ['scale down 5 -> 3: remove the highest ordinal first', { statefulSetReplicas: 5, members: [m(0), m(1), m(2), m(3), m(4)] }, { kind: 'removeMember', memberId: '1004', ordinal: 4, reason: 'scaleDown' }],
  ['scale down: the member leaving is the leader, move leadership first', { statefulSetReplicas: 4, members: [m(0, { isLeader: false }), m(1), m(2), m(3, { isLeader: true })] }, { kind: 'moveLeader', fromId: '1003', toId: '1000' }],
  ['scale down refused while another member is unhealthy', { statefulSetReplicas: 5, members: [m(0), m(1, { healthy: false }), m(2), m(3), m(4)] }, { kind: 'wait', reason: 'unhealthyNoScaleDown' }],
  ['scale down: the member leaving may itself be down', { statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { healthy: false })], recordedMembers: recorded(0, 1, 2) }, { kind: 'removeMember', memberId: '1003', ordinal: 3, reason: 'scaleDown' }],
  ['scale down: member removed, StatefulSet shrinks next', { statefulSetReplicas: 5 }, { kind: 'scaleStatefulSet', replicas: 3, reason: 'shrink' }],
  ['scale down: volumes left by removed members are left to the StatefulSet retention policy', { statefulSetReplicas: 3, volumes: vols(0, 1, 2, 3, 4) }, { kind: 'none' }],
  ['lost data: a recorded member is down on a new volume', { volumes: [...vols(0, 2), { ordinal: 1, memberId: undefined }], members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'removeMember', memberId: '1001', ordinal: 1, reason: 'dataLost' }],
  ['lost data: the volume is gone altogether', { volumes: vols(0, 2), members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'removeMember', memberId: '1001', ordinal: 1, reason: 'dataLost' }],
  ['no record of the member ever running: no proof of loss, nothing removed', { volumes: [...vols(0, 2), { ordinal: 1, memberId: undefined }], recordedMembers: recorded(0, 2), members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'none' }],
  ['down member on its own volume: a crash, not lost data', { members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'none' }],
  ['after a data-loss removal the ordinal is re-added as a learner', { members: [m(0), m(2)], volumes: [...vols(0, 2), { ordinal: 1, memberId: undefined }] }, { kind: 'addLearner', ordinal: 1 }],
  ['a member that is not ours (no ordinal) is removed', { members: [m(0), m(1), m(2), { ...m(7), ordinal: undefined, isLeader: false }] }, { kind: 'removeMember', memberId: '1007', ordinal: undefined, reason: 'foreign' }],
  ['rolling restart: the highest outdated follower first', { members: [m(0, { outdated: true }), m(1, { outdated: true }), m(2, { outdated: true })] }, { kind: 'restartMember', memberId: '1002', ordinal: 2 }],
  ['rolling restart: the leader last, after moving leadership to an updated member', { members: [m(0, { outdated: true }), m(1), m(2)] }, { kind: 'moveLeader', fromId: '1000', toId: '1001' }],
  ['rolling restart: the leader restarts when no updated voter exists (single member)', { desired: 1, statefulSetReplicas: 1, members: [m(0, { outdated: true })] }, { kind: 'restartMember', memberId: '1000', ordinal: 0 }],
  ['rolling restart waits while a member is unhealthy', { members: [m(0), m(1, { healthy: false }), m(2, { outdated: true })] }, { kind: 'wait', reason: 'unhealthyNoRestart' }],
  ['rolling restart waits for scaling to finish', { desired: 5, members: [m(0), m(1), m(2, { outdated: true })] }, { kind: 'addLearner', ordinal: 3 }],
  ['a template the StatefulSet controller has not recorded yet: not settled, wait', { templatePending: true }, { kind: 'wait', reason: 'templatePending' }],
  ['a pending template does not hold back a restart already known to be due', { templatePending: true, members: [m(0), m(1), m(2, { outdated: true })] }, { kind: 'restartMember', memberId: '1002', ordinal: 2 }],
  ['scale to 1 from 3, the leader at ordinal 2', { desired: 1, members: [m(0, { isLeader: false }), m(1), m(2, { isLeader: true })] }, { kind: 'moveLeader', fromId: '1002', toId: '1000' }],
];

describe('planMembership', () => {
  it.each(cases)('%s', (_name, over, expected) => {
    expect(planMembership(obs(over))).toEqual(expected);
  });

  it('never plans more than one step and never mutates its input', () => {
    const input = obs({ desired: 5 });
    const frozen = JSON.stringify({ ...input, recordedMembers: [...input.recordedMembers] });
    planMembership(input);
    expect(JSON.stringify({ ...input, recordedMembers: [...input.recordedMembers] })).toBe(frozen);
  });
});
