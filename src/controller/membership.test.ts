import { describe, expect, it } from 'vitest';
import { type MembershipObservation, type MembershipStep, type ObservedMember, planMembership } from './membership.js';

/** A healthy started voter at `ordinal`, with ID 1000+ordinal as a string. */
function m(ordinal: number, over: Partial<ObservedMember> = {}): ObservedMember {
  return { id: String(1000 + ordinal), ordinal, started: true, isLearner: false, healthy: true, isLeader: ordinal === 0, caughtUp: true, lag: 0, ...over };
}

/** A started member that does not answer. */
const down = (ordinal: number) => m(ordinal, { healthy: false, isLeader: false });
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
    learnerTimeoutMs: 5 * minute,
    now: t0,
    ...over,
  };
}

const minute = 60_000;
const t0 = Date.parse('2026-01-01T12:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();
/** The learner at `ordinal` recorded as added `ago` ms before t0. */
const added = (ordinal: number, ago: number) => ({ memberId: String(1000 + ordinal), ordinal, addedAt: at(t0 - ago) });
const notStarted = { isLearner: true, started: false, healthy: false, caughtUp: false, isLeader: false };
const behind = { isLearner: true, caughtUp: false, isLeader: false };
/** The timeout record of the learner at `ordinal`, as written `failures` timeouts in a row. */
const timedOut = (ordinal: number, failures = 1, retryAt = t0 + 5 * minute) => ({ ...added(ordinal, 5 * minute), why: 'notStarted' as const, failures, retryAt: at(retryAt) });

const cases: [string, Partial<MembershipObservation>, MembershipStep][] = [
  ['bootstrap: no StatefulSet, never formed', { statefulSetReplicas: undefined, knownMembers: 0, members: undefined, volumes: [] }, { kind: 'createStatefulSet', replicas: 3, bootstrap: true }],
  ['StatefulSet deleted after the cluster formed: recreate at the known size', { desired: 5, statefulSetReplicas: undefined, members: undefined }, { kind: 'createStatefulSet', replicas: 3, bootstrap: false }],
  ['bootstrap waits while a volume of an earlier cluster is being deleted: a pod made now would mount it on its way out', { statefulSetReplicas: undefined, knownMembers: 0, members: undefined, volumes: [], leavingVolumes: [0, 2] }, { kind: 'wait', reason: 'volumeLeaving', detail: 'the volume of ordinal 0, 2 is being deleted' }],
  ['bootstrap ignores a volume being deleted above the size it creates', { statefulSetReplicas: undefined, knownMembers: 0, members: undefined, volumes: [], leavingVolumes: [3] }, { kind: 'createStatefulSet', replicas: 3, bootstrap: true }],
  ['a learner whose volume is still being deleted is not started yet', { desired: 5, members: [m(0), m(1), m(2), m(3, notStarted)], leavingVolumes: [3] }, { kind: 'wait', reason: 'volumeLeaving', detail: 'the volume of ordinal 3 is being deleted' }],
  ['StatefulSet exists, etcd not answering yet', { members: undefined }, { kind: 'wait', reason: 'etcdUnreachable' }],
  ['membership matches', {}, { kind: 'none' }],
  ['scale up 3 -> 5: the pods of both new members start first, to wait in their start guards', { desired: 5 }, { kind: 'scaleStatefulSet', replicas: 5, reason: 'startAhead' }],
  ['scale up 3 -> 5, pods started ahead: add one learner at the lowest free ordinal', { desired: 5, statefulSetReplicas: 5 }, { kind: 'addLearner', ordinal: 3 }],
  ['scale up: learner added, pod not yet created (an operator before the start ahead): the pods of the rest start with it', { desired: 5, members: [m(0), m(1), m(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'scaleStatefulSet', replicas: 5, reason: 'startLearner' }],
  ['scale up: learner added, pod not yet created, the last one to add', { desired: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startLearner' }],
  ['scale up: learner promoted, the pod of the next one started ahead is kept', { desired: 5, statefulSetReplicas: 5, members: [m(0), m(1), m(2), m(3)], recordedMembers: recorded(0, 1, 2, 3) }, { kind: 'addLearner', ordinal: 4 }],
  ['scale up while a member is down: the pods started ahead are kept, waiting', { desired: 5, statefulSetReplicas: 5, members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'wait', reason: 'unhealthyNoScaleUp' }],
  ['scale up while a member is down: no pod starts ahead either', { desired: 5, members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'wait', reason: 'unhealthyNoScaleUp' }],
  ['scale up 3 -> 5 lowered to 4 while pods wait ahead: the one no longer wanted goes', { desired: 4, statefulSetReplicas: 5 }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'shrink' }],
  ['scale up 3 -> 5 cancelled while pods wait ahead: they go', { statefulSetReplicas: 5 }, { kind: 'scaleStatefulSet', replicas: 3, reason: 'shrink' }],
  ['no pod starts ahead on the volume of a removed member above the next ordinal: it would hold the claim a decision may delete', { desired: 6, volumes: [...vols(0, 1, 2), { ordinal: 4, memberId: '999' }] }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startAhead' }],
  ['no pod starts ahead on an older cluster\'s volume', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 4, memberId: undefined, predatesCluster: true }] }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startAhead' }],
  ['a volume no member was recorded on (a pod that waited ahead before) takes a pod ahead', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined }, { ordinal: 4, memberId: undefined }] }, { kind: 'scaleStatefulSet', replicas: 5, reason: 'startAhead' }],
  ['no pod starts ahead on a volume being deleted', { desired: 5, leavingVolumes: [4] }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startAhead' }],
  ['a member lost below the highest is added back first: no pod ahead for it, its pod exists', { desired: 3, members: [m(0), m(2)], volumes: vols(0, 2) }, { kind: 'addLearner', ordinal: 1 }],
  ['a member lost below the highest while growing 3 -> 4: one pod ahead, for ordinal 3', { desired: 4, members: [m(0), m(2)], volumes: vols(0, 2) }, { kind: 'scaleStatefulSet', replicas: 4, reason: 'startAhead' }],
  ['scale up: learner pod exists, process not started', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'wait', reason: 'learnerStarting' }],
  ['scale up: learner started, not caught up', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, caughtUp: false })] }, { kind: 'wait', reason: 'learnerCatchingUp' }],
  ['scale up: learner caught up (and recorded on its volume) is promoted', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true })], recordedMembers: recorded(0, 1, 2, 3) }, { kind: 'promoteLearner', memberId: '1003', ordinal: 3 }],
  ['a started learner lost before it was recorded, held by its start guard: removed at once (it has no vote)', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, healthy: false, caughtUp: false, isLeader: false, held: true })] }, { kind: 'removeMember', memberId: '1003', ordinal: 3, reason: 'dataLost' }],
  ['a voter held by its start guard but never recorded (lost before its first record): the hold is the proof, removed', { members: [m(0), m(1), m(2, { healthy: false, isLeader: false, held: true })], recordedMembers: recorded(0, 1) }, { kind: 'removeMember', memberId: '1002', ordinal: 2, reason: 'dataLost' }],
  ['a voter recorded on this very volume, held by its start guard (the volume emptied in place): removed', { members: [m(0), m(1), m(2, { healthy: false, isLeader: false, held: true })], recordedMembers: recorded(0, 1, 2) }, { kind: 'removeMember', memberId: '1002', ordinal: 2, reason: 'dataLost' }],
  ['two voters of three held by their start guards: quorum lost, nothing is removed', { members: [m(0), m(1, { healthy: false, isLeader: false, held: true }), m(2, { healthy: false, isLeader: false, held: true })], recordedMembers: recorded(0) }, { kind: 'wait', reason: 'quorumLost' }],
  ['a voter down but not held (its guard within the grace, or etcd crashing) and never recorded: no proof, nothing removed', { members: [m(0), m(1), m(2, { healthy: false, isLeader: false })], recordedMembers: recorded(0, 1) }, { kind: 'none' }],
  // Its volume went before any pass saw it healthy on one: as a voter its loss could never be proven.
  ['scale up: a caught-up learner not yet recorded on a volume is not promoted', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true })] }, { kind: 'wait', reason: 'learnerUnrecorded' }],
  ['scale up waits while a member is down', { desired: 5, members: [m(0), m(1, { healthy: false }), m(2)] }, { kind: 'wait', reason: 'unhealthyNoScaleUp' }],
  ['scale up past a stale volume of a removed member, retentionPolicy Delete: delete it first', { desired: 5, retainVolumes: false, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'stale' }],
  ['scale up past a retained volume of a removed member: wait for the user', { desired: 5, retainVolumes: true, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: '999', predatesCluster: false } }],
  ['retention unspecified counts as Retain (the API default): wait for the user', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: '999', predatesCluster: false } }],
  ['a retained volume the user annotated for reclaim is deleted', { desired: 5, retainVolumes: true, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999', reclaim: true }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'reclaimed' }],
  ['a volume older than the EtcdCluster is never deleted on its own, even with Delete', { desired: 5, retainVolumes: false, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, predatesCluster: true }] }, { kind: 'awaitDecision', decision: { reason: 'retainedVolume', ordinal: 3, memberId: undefined, predatesCluster: true } }],
  ['a volume older than the EtcdCluster, annotated for reclaim, is deleted', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, predatesCluster: true, reclaim: true }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'reclaimed' }],
  ['an empty volume at the free ordinal (no record, made for this cluster) is used as it is', { desired: 5, statefulSetReplicas: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined }] }, { kind: 'addLearner', ordinal: 3 }],
  ['a reclaim annotation on a volume nobody ran on changes nothing', { desired: 5, statefulSetReplicas: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: undefined, reclaim: true }] }, { kind: 'addLearner', ordinal: 3 }],
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
  ['rolling restart waits while a member is unhealthy', { members: [m(0), m(1, { healthy: false }), m(2, { outdated: true })] }, { kind: 'wait', reason: 'unhealthyNoRestart', detail: 'member 3e9 is not healthy' }],
  ['rolling restart waits for scaling to finish', { desired: 5, statefulSetReplicas: 5, members: [m(0), m(1), m(2, { outdated: true })] }, { kind: 'addLearner', ordinal: 3 }],
  ['a template the StatefulSet controller has not recorded yet: not settled, wait', { templatePending: true }, { kind: 'wait', reason: 'templatePending' }],
  ['a pending template does not hold back a restart already known to be due', { templatePending: true, members: [m(0), m(1), m(2, { outdated: true })] }, { kind: 'restartMember', memberId: '1002', ordinal: 2 }],
  // The quorum gate: with fewer healthy voters than a majority nothing changes, whatever else is due.
  ['quorum lost: two of three down with their volumes gone: no member removed', { volumes: vols(0), members: [m(0, { isLeader: false }), down(1), down(2)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: two of three down on their own volumes', { members: [m(0, { isLeader: false }), down(1), down(2)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: no learner added, no stale volume deleted', { desired: 5, volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '999' }], members: [m(0, { isLeader: false }), down(1), down(2)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: a learner added before is not started', { desired: 5, members: [m(0, { isLeader: false }), down(1), down(2), m(3, { isLearner: true, started: false, healthy: false, caughtUp: false })] }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: nothing removed while scaling down', { desired: 3, statefulSetReplicas: 5, members: [m(0, { isLeader: false }), m(1, { isLeader: false }), down(2), down(3), down(4)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: no rolling restart', { members: [m(0, { isLeader: false, outdated: true }), down(1), down(2)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['a member down on an outdated template its pod cannot run (bad image): its pod is made again, though the roll waits for health', { members: [m(0), m(1), down(2)], stuckPods: [{ ordinal: 2, why: 'container etcd: ErrImagePull' }] }, { kind: 'restartStuckPod', ordinal: 2, why: 'container etcd: ErrImagePull' }],
  ['a stuck outdated pod with the quorum lost: made again (no membership or volume change, the member starts on its data)', { members: [m(0, { isLeader: false }), down(1), down(2)], stuckPods: [{ ordinal: 1, why: 'a' }, { ordinal: 2, why: 'b' }] }, { kind: 'restartStuckPod', ordinal: 2, why: 'b' }],
  ['a stuck outdated pod with no member answering (a one-member cluster rolled to a bad image)', { desired: 1, statefulSetReplicas: 1, knownMembers: 1, members: undefined, stuckPods: [{ ordinal: 0, why: 'container etcd: CrashLoopBackOff' }] }, { kind: 'restartStuckPod', ordinal: 0, why: 'container etcd: CrashLoopBackOff' }],
  ['a stuck outdated pod waits while the StatefulSet has yet to record the template (its new pod would get the old one)', { members: [m(0), m(1), down(2)], stuckPods: [{ ordinal: 2, why: 'x' }], templatePending: true }, { kind: 'wait', reason: 'templatePending' }],
  ['a stuck pod whose member answers healthy is left alone', { members: [m(0), m(1), m(2, { outdated: true })], stuckPods: [{ ordinal: 2, why: 'x' }] }, { kind: 'restartMember', memberId: '1002', ordinal: 2 }],
  ['quorum lost: a single member that is down', { desired: 1, statefulSetReplicas: 1, members: [down(0)], volumes: vols(0) }, { kind: 'wait', reason: 'quorumLost' }],
  ['quorum lost: the survivors answer but no member is healthy', { members: [m(0, { healthy: false, isLeader: false }), m(1, { healthy: false, isLeader: false }), down(2)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['a missing StatefulSet comes back at its known size even without quorum: its members return on their volumes', { statefulSetReplicas: undefined, members: [m(0, { isLeader: false }), down(1), down(2)] }, { kind: 'createStatefulSet', replicas: 3, bootstrap: false }],
  ['a down learner is no voter: 2 of 3 voters keep quorum', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), down(2), m(3, { isLearner: true, healthy: false, caughtUp: false })] }, { kind: 'wait', reason: 'learnerCatchingUp' }],
  ['scale to 1 from 3, the leader at ordinal 2', { desired: 1, members: [m(0, { isLeader: false }), m(1), m(2, { isLeader: true })] }, { kind: 'moveLeader', fromId: '1002', toId: '1000' }],
];

// A learner must never freeze the cluster: lowering spec.replicas cancels it, a deadline removes it.
const learnerCases: [string, Partial<MembershipObservation>, MembershipStep][] = [
  ['scale 3 -> 5 cancelled by scaling back to 3: the learner not started is removed', { statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)] }, { kind: 'removeLearner', memberId: '1003', ordinal: 3, reason: 'scaleDown' }],
  ['cancelled: a learner ready for promotion is removed, not promoted', { statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, isLeader: false })] }, { kind: 'removeLearner', memberId: '1003', ordinal: 3, reason: 'scaleDown' }],
  ['cancelled: the learner removed, the StatefulSet shrinks next', { statefulSetReplicas: 4 }, { kind: 'scaleStatefulSet', replicas: 3, reason: 'shrink' }],
  ['cancelled while a voter is down: a learner has no vote, quorum is enough', { statefulSetReplicas: 4, members: [m(0), m(1, { healthy: false }), m(2), m(3, notStarted)] }, { kind: 'removeLearner', memberId: '1003', ordinal: 3, reason: 'scaleDown' }],
  // The quorum gate comes first: without a quorum no learner is removed either.
  ['cancelled without a quorum of healthy voters: wait', { statefulSetReplicas: 4, members: [m(0), m(1, { healthy: false }), m(2, { healthy: false }), m(3, notStarted)] }, { kind: 'wait', reason: 'quorumLost' }],
  ['stuck learner and surplus voters (7 -> 3 during 5 -> 7): the learner goes first', { statefulSetReplicas: 6, members: [m(0), m(1), m(2), m(3), m(4), m(5, notStarted)] }, { kind: 'removeLearner', memberId: '1005', ordinal: 5, reason: 'scaleDown' }],
  ['stuck learner removed: then the surplus voters, highest first, before shrinking', { statefulSetReplicas: 6, members: [m(0), m(1), m(2), m(3), m(4)] }, { kind: 'removeMember', memberId: '1004', ordinal: 4, reason: 'scaleDown' }],
  ['a learner still wanted (ordinal below spec.replicas) is not cancelled', { members: [m(0), m(2), m(1, notStarted)], volumes: vols(0, 2) }, { kind: 'wait', reason: 'learnerStarting' }],
  ['before its deadline a learner not started is waited for, its deadline said', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)], learner: added(3, 5 * minute - 1) }, { kind: 'wait', reason: 'learnerStarting', learner: { memberId: '1003', ordinal: 3, addedAt: at(t0 - 5 * minute + 1), deadline: at(t0 + 1) } }],
  ['past its deadline, not started: the timeout is recorded first', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)], learner: added(3, 5 * minute) }, { kind: 'recordLearnerTimeout', retry: timedOut(3) }],
  ['timeout recorded: the learner is removed', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)], learner: added(3, 5 * minute), learnerRetry: timedOut(3) }, { kind: 'removeLearner', memberId: '1003', ordinal: 3, reason: 'timedOut', retry: timedOut(3) }],
  ['past its deadline, started but not caught up', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, behind)], learner: added(3, 6 * minute) }, { kind: 'recordLearnerTimeout', retry: { ...added(3, 6 * minute), why: 'notCaughtUp', failures: 1, retryAt: at(t0 + 5 * minute) } }],
  ['past its deadline but caught up: promoted, not removed', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, { isLearner: true, isLeader: false })], recordedMembers: recorded(0, 1, 2, 3), learner: added(3, 9 * minute) }, { kind: 'promoteLearner', memberId: '1003', ordinal: 3 }],
  ['no record of when the learner was added (operator died before writing it): no deadline yet', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)], learner: { ...added(3, 60 * minute), memberId: '999' } }, { kind: 'wait', reason: 'learnerStarting' }],
  ['a second timeout in a row doubles the wait', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1), m(2), m(3, notStarted)], learner: added(3, 5 * minute), learnerRetry: { ...timedOut(3, 1, t0 - minute), memberId: '998' } }, { kind: 'recordLearnerTimeout', retry: timedOut(3, 2, t0 + 10 * minute) }],
  ['past its deadline while a voter is down: still removed (quorum holds)', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1, { healthy: false }), m(2), m(3, notStarted)], learner: added(3, 5 * minute) }, { kind: 'recordLearnerTimeout', retry: timedOut(3) }],
  ['past its deadline without a quorum of healthy voters: wait', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1, { healthy: false }), m(2, { healthy: false }), m(3, notStarted)], learner: added(3, 5 * minute) }, { kind: 'wait', reason: 'quorumLost' }],
  ['timed-out learner removed: the StatefulSet shrinks before the retry wait', { desired: 5, statefulSetReplicas: 4, learnerRetry: timedOut(3) }, { kind: 'scaleStatefulSet', replicas: 3, reason: 'shrink' }],
  ['after a timeout the next add waits for its retry time', { desired: 5, learnerRetry: timedOut(3) }, { kind: 'wait', reason: 'learnerRetryBackoff', retry: timedOut(3) }],
  ['the retry wait also holds back the roll of outdated members (scaling is not finished)', { desired: 5, learnerRetry: timedOut(3), members: [m(0, { outdated: true }), m(1, { outdated: true }), m(2, { outdated: true })] }, { kind: 'wait', reason: 'learnerRetryBackoff', retry: timedOut(3) }],
  ['retry time reached: the pods of the scale-up start ahead again', { desired: 5, learnerRetry: timedOut(3, 1, t0) }, { kind: 'scaleStatefulSet', replicas: 5, reason: 'startAhead' }],
  ['retry time reached, pods started ahead: the learner is added again', { desired: 5, statefulSetReplicas: 5, learnerRetry: timedOut(3, 1, t0) }, { kind: 'addLearner', ordinal: 3 }],
  ['during the retry wait no pod waits ahead: they go, to start anew after it', { desired: 5, statefulSetReplicas: 5, learnerRetry: timedOut(3) }, { kind: 'scaleStatefulSet', replicas: 3, reason: 'shrink' }],
  ['retry time reached, the failed learner had started on its volume: the stale volume goes first (retentionPolicy Delete)', { desired: 5, retainVolumes: false, learnerRetry: timedOut(3, 1, t0), volumes: [...vols(0, 1, 2), { ordinal: 3, memberId: '1003' }] }, { kind: 'deleteVolume', ordinal: 3, reason: 'stale' }],
  ['scaled back down during the retry wait: nothing to add', { learnerRetry: timedOut(3) }, { kind: 'none' }],
  ['lost data comes before a stuck learner', { desired: 5, statefulSetReplicas: 4, members: [m(0), m(1, { healthy: false }), m(2), m(3, notStarted)], volumes: vols(0, 2), learner: added(3, 5 * minute) }, { kind: 'removeMember', memberId: '1001', ordinal: 1, reason: 'dataLost' }],
];

describe('planMembership', () => {
  it.each(learnerCases)('learner: %s', (_name, over, expected) => {
    expect(planMembership(obs(over))).toEqual(expected);
  });

  it.each(cases)('%s', (_name, over, expected) => {
    expect(planMembership(obs(over))).toEqual(expected);
  });

  it('never mutates its input', () => {
    const input = obs({ desired: 5 });
    const frozen = JSON.stringify({ ...input, recordedMembers: [...input.recordedMembers] });
    planMembership(input);
    expect(JSON.stringify({ ...input, recordedMembers: [...input.recordedMembers] })).toBe(frozen);
  });

  // A small model of the world: each planned step is carried out, then pods start and learners
  // catch up. Every step must change exactly one thing, and the plan must reach the spec.
  it.each([
    [3, 7],
    [7, 3],
    [1, 5],
    [5, 1],
  ])('never plans more than one change per step, and converges: %i -> %i members', (from, to) => {
    let world = obs({ desired: to, statefulSetReplicas: from, knownMembers: from, members: Array.from({ length: from }, (_, i) => m(i)), volumes: vols(...Array.from({ length: from }, (_, i) => i)), recordedMembers: recorded() });
    let nextId = 2000;
    for (let pass = 0; pass < 60; pass++) {
      const step = planMembership(world);
      if (step.kind === 'none') {
        expect(world.members!.map((x) => x.ordinal).sort()).toEqual(Array.from({ length: to }, (_, i) => i));
        expect(world.members!.every((x) => !x.isLearner && x.healthy)).toBe(true);
        expect(world.statefulSetReplicas).toBe(to);
        return;
      }
      const before = JSON.stringify(world);
      const previous = { replicas: world.statefulSetReplicas, members: JSON.stringify(world.members) };
      const members = world.members!.map((x) => ({ ...x }));
      switch (step.kind) {
        case 'addLearner':
          members.push({ id: String(nextId++), ordinal: step.ordinal, started: false, isLearner: true, healthy: false, isLeader: false, caughtUp: false });
          break;
        case 'scaleStatefulSet':
          world = { ...world, statefulSetReplicas: step.replicas };
          break;
        case 'promoteLearner':
          members.find((x) => x.id === step.memberId)!.isLearner = false;
          break;
        case 'moveLeader':
          for (const x of members) x.isLeader = x.id === step.toId;
          break;
        case 'removeMember':
          members.splice(members.findIndex((x) => x.id === step.memberId), 1);
          break;
        default:
          throw new Error(`unexpected step ${JSON.stringify(step)}`);
      }
      world = { ...world, members };
      expect(JSON.stringify(world), `step ${step.kind} changed nothing`).not.toBe(before);
      const changed = [world.statefulSetReplicas !== previous.replicas, JSON.stringify(world.members) !== previous.members].filter(Boolean);
      expect(changed, `step ${JSON.stringify(step)} changed more than one thing`).toHaveLength(1);
      // The world moves on: pods of started ordinals run, learners catch up.
      world = { ...world, members: world.members!.map((x) => (x.ordinal! < world.statefulSetReplicas! && !x.started ? { ...x, started: true, healthy: true, caughtUp: true } : x)) };
      // The operator records the members it sees healthy on their volumes (updateVolumeRecords).
      world = { ...world, recordedMembers: new Set(world.members!.filter((x) => x.started && x.healthy).map((x) => x.id)) };
    }
    throw new Error('did not converge in 60 passes');
  });
});
