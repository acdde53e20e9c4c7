import { conditionReasons as R, conditionTypes as T } from '../api/conditions.js';
import type { EtcdCluster, EtcdClusterBackupStatus, EtcdClusterStatus, EtcdMemberStatus } from '../api/types.generated.js';
import { compareVersions } from '../api/version.js';
import { type ClusterRef, clientEndpoint, memberSelector, names, selectorString } from '../resources/names.js';
import { type ConditionInput, withTransitions } from './conditions.js';
import { describeTimeout, learnerName } from './learners.js';
import { describeDecision } from './decisions.js';
import type { MembershipStep, WaitReason } from './membership.js';
import { type EtcdView, type MemberView, type RefusedEndpoint, describeRefusal } from './observe-etcd.js';
import { availability } from './quorum-report.js';
import { hexId } from '../etcd/convert.js';

export interface StatusInputs {
  cluster: EtcdCluster;
  ref: ClusterRef;
  /** undefined when no member answered this pass. */
  etcd: EtcdView | undefined;
  /** With `etcd` undefined: the endpoints whose handshake failed on a certificate. */
  refused?: RefusedEndpoint[];
  /** The step this pass took (or would take, when blocked). */
  step: MembershipStep | undefined;
  /** Certificate and other problems that need a person, for Degraded. */
  problems: { reason: string; message: string }[];
  /** Progress of a volume growth, shown when membership has nothing to report. */
  storage?: { reason: string; message: string };
  caSecretName: string;
  clusterDomain: string;
  now: Date;
  /** Work under way outside membership (a CA rotation), shown when membership has none to show. */
  progress?: { reason: string; message: string };
  /** The cluster's backups (src/backup/cluster-status.ts), rebuilt from its EtcdBackups. */
  backup?: EtcdClusterBackupStatus;
  /** status.lastRevision, quorumRecovery and recovery (src/recovery); carried over when absent. */
  recovery?: Pick<EtcdClusterStatus, 'lastRevision' | 'quorumRecovery' | 'recovery'>;
}


function memberStatus(ref: ClusterRef, m: MemberView): EtcdMemberStatus {
  return {
    // A member that has not started has no name in etcd yet: report the pod it will run in.
    name: m.name || (m.ordinal !== undefined ? names.member(ref, m.ordinal) : ''),
    memberID: hexId(m.id),
    peerURLs: m.peerURLs,
    clientURLs: m.clientURLs,
    role: m.isLearner ? 'Learner' : 'Voter',
    isLeader: m.isLeader,
    healthy: m.healthy,
    version: m.status?.version,
    dbSizeBytes: m.status?.dbSize,
  };
}

function isClusterIdMismatch(step: MembershipStep | undefined): boolean {
  return step?.kind === 'awaitDecision' && step.decision.reason === 'clusterIdMismatch';
}

/** etcd raised CORRUPT: members refuse every read and write, and report it as an error of their own. */
function isCorruptAlarm(step: MembershipStep | undefined): boolean {
  return step?.kind === 'awaitDecision' && step.decision.reason === 'dataInconsistent' && step.decision.source === 'corruptAlarm';
}

const corruptMessage = 'etcd raised the CORRUPT alarm: members refuse every read and write until a person resolves it (see Degraded)';

/** Reason for Progressing, from the step this pass planned. */
export function progressReason(step: MembershipStep | undefined, formed: boolean, ref: ClusterRef, replicas: number): { reason: string; message: string } | undefined {
  if (!step) return undefined;
  switch (step.kind) {
    case 'createStatefulSet':
      return { reason: step.bootstrap ? R.bootstrapping : R.scalingUp, message: `creating the StatefulSet with ${step.replicas} members` };
    case 'scaleStatefulSet':
      if (step.reason === 'startLearner') return { reason: R.scalingUp, message: `growing the StatefulSet to ${step.replicas} pods to start the learner` };
      if (step.reason === 'startAhead') return { reason: R.scalingUp, message: `growing the StatefulSet to ${step.replicas} pods ahead of the learner adds: each new pod waits in its start guard until etcd lists its member` };
      return { reason: R.scalingDown, message: `shrinking the StatefulSet to ${step.replicas}` };
    case 'addLearner':
      return { reason: R.addingLearner, message: `adding member ${step.ordinal} as a learner` };
    case 'promoteLearner':
      return { reason: R.promotingLearner, message: `promoting member ${step.ordinal} to voter` };
    case 'moveLeader':
      return { reason: R.movingLeader, message: `moving leadership from ${hexId(step.fromId)} to ${hexId(step.toId)}` };
    case 'removeMember':
      return step.reason === 'dataLost'
        ? { reason: R.replacingLostMember, message: `member ${step.ordinal} lost its data: removing it to re-add it empty` }
        : { reason: R.removingMember, message: `removing member ${hexId(step.memberId)}` };
    case 'recordLearnerTimeout':
      return { reason: R.learnerTimedOut, message: describeTimeout(ref, step.retry) };
    case 'removeLearner':
      return step.reason === 'timedOut' && step.retry
        ? { reason: R.learnerTimedOut, message: describeTimeout(ref, step.retry) }
        : { reason: R.removingMember, message: `removing learner ${learnerName(ref, step)}: not needed at ${replicas} members` };
    case 'deleteVolume':
      return { reason: R.scalingUp, message: `deleting the ${step.reason === 'reclaimed' ? 'reclaimed' : 'stale'} volume of ordinal ${step.ordinal} before reusing it` };
    case 'restartMember':
      return step.toVersion
        ? { reason: R.upgrading, message: `restarting member ${step.ordinal} to run etcd ${step.toVersion}` }
        : { reason: R.restartingMember, message: `restarting member ${step.ordinal} on the current template` };
    case 'restartStuckPod':
      return { reason: R.restartingMember, message: `restarting the pod of member ${step.ordinal}: ${step.why}` };
    case 'wait': {
      const waiting = learnerWait(ref, step) ?? waitReason(step.reason, formed);
      return step.detail ? { ...waiting, message: `${waiting.message}: ${step.detail}` } : waiting;
    }
    case 'awaitDecision': // described with the cluster's names, in conditionsFor
    case 'none':
      return undefined;
  }
}

/** Waits about a learner name it, say since when, and when its deadline or retry falls. */
function learnerWait(ref: ClusterRef, step: Extract<MembershipStep, { kind: 'wait' }>): { reason: string; message: string } | undefined {
  if (step.retry) return { reason: R.learnerRetryBackoff, message: describeTimeout(ref, step.retry) };
  const l = step.learner;
  if (!l) return undefined;
  const what = step.reason === 'learnerStarting' ? 'to start' : step.reason === 'learnerUnrecorded' ? 'to be seen running on its volume' : 'to catch up with the leader';
  return { reason: R.addingLearner, message: `waiting for learner ${learnerName(ref, l)} ${what}: added at ${l.addedAt}, removed if not ready by ${l.deadline}` };
}

/**
 * Every wait is still progress toward the spec: Progressing stays True, with why it waits, so a
 * stalled change never reads as "membership matches the spec".
 */
function waitReason(reason: WaitReason, formed: boolean): { reason: string; message: string } {
  switch (reason) {
    case 'etcdUnreachable':
      return { reason: formed ? R.quorumLost : R.bootstrapping, message: 'waiting for members to answer' };
    case 'quorumLost':
      return { reason: formed ? R.quorumLost : R.bootstrapping, message: formed ? 'waiting for quorum to return: no membership change, volume deletion or member start until then' : 'waiting for a quorum of the initial members to start' };
    case 'memberStarting':
      return { reason: formed ? R.restartingMember : R.bootstrapping, message: 'waiting for a member to start' };
    case 'learnerStarting':
      return { reason: R.addingLearner, message: 'waiting for the learner to start' };
    case 'learnerCatchingUp':
      return { reason: R.addingLearner, message: 'waiting for the learner to catch up with the leader' };
    case 'learnerUnrecorded':
      return { reason: R.addingLearner, message: 'waiting to see the learner running on its volume before promoting it' };
    case 'unhealthyNoScaleUp':
      return { reason: R.scalingUp, message: 'waiting for every member to be healthy before adding one' };
    case 'unhealthyNoScaleDown':
      return { reason: R.scalingDown, message: 'waiting for every other member to be healthy before removing one' };
    case 'unhealthyNoRestart':
      return { reason: R.restartingMember, message: 'waiting for every member to be healthy and caught up before restarting one' };
    case 'upgradeWaiting':
      return { reason: R.upgradeWaiting, message: 'waiting for every member to be a healthy, caught-up voter before upgrading the next one' };
    case 'templatePending':
      return { reason: R.restartingMember, message: 'waiting for the StatefulSet controller to record the new pod template' };
    case 'volumeLeaving':
      return { reason: formed ? R.restartingMember : R.bootstrapping, message: 'waiting for a volume being deleted to be gone before starting its member' };
    case 'learnerRetryBackoff':
      return { reason: R.learnerRetryBackoff, message: 'waiting before adding a learner again after one timed out' };
    case 'learnerRemovalNeedsQuorum':
      return { reason: R.removingMember, message: 'waiting for a quorum of healthy voters to remove a learner' };
  }
}

/**
 * The planner's wait for a quorum, told as what it is: members electing a leader, or members whose
 * certificates the operator cannot verify (the planner counts them unhealthy, so it waits).
 */
function electing(progress: { reason: string; message: string } | undefined, availableReason: string): { reason: string; message: string } | undefined {
  if (progress?.reason !== R.quorumLost || availableReason === R.quorumLost) return progress;
  if (availableReason === R.noLeader) return { reason: R.noLeader, message: 'waiting for the members to elect a leader: no membership change, volume deletion or member start until then' };
  return { reason: R.certificatesRefused, message: "waiting until the operator and the members accept each other's certificates: no membership change, volume deletion or member start until then" };
}

/** Formed: a cluster ID was latched, so its members hold data that a quorum once agreed on. */
function formed(i: StatusInputs): boolean {
  return (i.cluster.status?.clusterID ?? '') !== '';
}

function conditionsFor(i: StatusInputs): ConditionInput[] {
  const members = i.etcd?.members ?? [];
  // Members of another cluster may well have a quorum, but they are not this cluster.
  const mismatch = isClusterIdMismatch(i.step);
  const quorate = availability(i.etcd, i.cluster.status?.members, i.cluster.status?.conditions, i.now, i.refused);
  // A CORRUPT alarm is every member's Status error, so no member counts as healthy; the quorum
  // itself stands, and "quorum lost" would send a person to the wrong recovery.
  const corrupt = isCorruptAlarm(i.step);
  const available = !mismatch && !corrupt && quorate.available;
  const message = corrupt ? corruptMessage : quorate.message;
  // A change held back for the user's decision is both unfinished and in need of attention.
  const decision = i.step?.kind === 'awaitDecision' ? describeDecision(i.step.decision, i.ref) : undefined;
  const progress = i.cluster.spec.paused
    ? { reason: R.paused, message: 'spec.paused is true: no changes are made' }
    : (decision ?? electing(progressReason(i.step, formed(i), i.ref, i.cluster.spec.replicas), quorate.reason) ?? i.progress ?? i.storage);
  const unhealthy = members.filter((m) => !m.healthy && m.started && !m.certificate);
  const refusedMembers = members.filter((m) => m.started && m.certificate).map((m) => `${m.name}: ${m.problem}`);
  const refusedEndpoints = i.etcd ? [] : (i.refused ?? []).map((r) => `${r.host.split('.')[0]}: ${describeRefusal(r.certificate)}`);
  const refused = [...refusedMembers, ...refusedEndpoints];
  const silent = !i.etcd && formed(i) && refused.length === 0 ? [{ reason: R.memberUnhealthy, message: 'no member answers' }] : [];
  const degraded = [
    ...(decision ? [decision] : []),
    ...i.problems,
    ...(refused.length > 0 ? [{ reason: R.memberCertificateRefused, message: refused.join('; ') }] : []),
    ...(unhealthy.length > 0 ? [{ reason: R.memberUnhealthy, message: unhealthy.map((m) => `${m.name}: ${m.problem}`).join('; ') }] : []),
    ...silent,
  ];
  return [
    {
      type: T.available,
      status: available ? 'True' : quorate.unknown && !mismatch && !corrupt ? 'Unknown' : 'False',
      reason: available ? R.quorumHealthy : mismatch ? R.clusterIdMismatch : corrupt ? R.dataInconsistent : quorate.reason,
      message,
    },
    { type: T.progressing, status: progress && !i.cluster.spec.paused ? 'True' : 'False', reason: progress?.reason ?? R.reconciled, message: progress?.message ?? 'membership matches the spec' },
    {
      type: T.degraded,
      status: degraded.length > 0 ? 'True' : 'False',
      reason: degraded[0]?.reason ?? R.healthy,
      message: degraded.map((d) => d.message).join('; ') || 'no problems observed',
    },
  ];
}

/** The members last seen, none of them healthy or leading now that none answers. */
function lastKnownMembers(previous: EtcdMemberStatus[] | undefined): EtcdMemberStatus[] {
  return (previous ?? []).map((m) => ({ ...m, healthy: false, isLeader: false }));
}

/** The whole status, rebuilt from this pass's observations. Pure. */
export function computeStatus(i: StatusInputs): EtcdClusterStatus {
  const members = i.etcd?.members ?? [];
  const versions = members.map((m) => m.status?.version).filter((v): v is string => !!v);
  const lowest = versions.sort((a, b) => compareVersions(a, b))[0];
  const leader = members.find((m) => m.isLeader);
  return {
    observedGeneration: i.cluster.metadata.generation,
    // Unreachable etcd is no proof that members are gone: keep the last count and list seen.
    replicas: i.etcd ? members.length : (i.cluster.status?.replicas ?? 0),
    readyReplicas: members.filter((m) => m.healthy).length,
    selector: selectorString(memberSelector(i.ref)),
    members: i.etcd ? members.map((m) => memberStatus(i.ref, m)) : lastKnownMembers(i.cluster.status?.members),
    leader: leader?.name,
    // Latched only from a list a quorum served (one member's own copy may be stale, or a new
    // cluster's), and never from members that answer with another ID (identity.ts).
    clusterID: i.etcd?.quorumConfirmed && !isClusterIdMismatch(i.step) ? hexId(i.etcd.clusterId) : i.cluster.status?.clusterID,
    currentVersion: lowest ?? i.cluster.status?.currentVersion,
    clientEndpoint: clientEndpoint(i.ref, i.clusterDomain),
    caSecretName: i.caSecretName,
    clientSecretName: names.userClientSecret(i.ref),
    backup: i.backup,
    // The recovery record is what keeps a spent consent spent: a pass that did not rebuild it keeps it.
    ...(i.recovery ?? { lastRevision: i.cluster.status?.lastRevision, quorumRecovery: i.cluster.status?.quorumRecovery, recovery: i.cluster.status?.recovery }),
    conditions: withTransitions(conditionsFor(i), i.cluster.status?.conditions, i.cluster.metadata.generation, i.now),
  };
}
