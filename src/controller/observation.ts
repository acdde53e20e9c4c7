import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { type VoterHealth, voterHealth } from '../etcd/quorum.js';
import type { EndpointStatus } from '../etcd/types.js';
import { annotationKeys } from '../resources/names.js';
import { etcdContainerName } from '../resources/pod-template.js';
import type { MembershipObservation, MembershipStep } from './membership.js';
import type { KubeView } from './observe-kube.js';
import { type EtcdView, caughtUp } from './observe-etcd.js';
import { inStartGuard } from './start-guard.js';
import { podCannotRun } from './pod-state.js';

/**
 * Records which member ran on which volume: a healthy started member is recorded on the volume
 * its ordinal has now. Records of members that are gone and whose volume is gone are dropped;
 * a record whose member still exists stays, because it is the proof of lost data.
 */
export function updateVolumeRecords(records: Record<string, string>, etcd: EtcdView | undefined, volumes: Map<number, string>): Record<string, string> {
  // One member's own copy of the list (no quorum) may lag: it proves nothing gone.
  if (!etcd?.quorumConfirmed) return records;
  const next = { ...records };
  for (const m of etcd.members) {
    const uid = m.ordinal === undefined ? undefined : volumes.get(m.ordinal);
    if (m.healthy && m.started && uid) next[uid] = m.id;
  }
  const memberIds = new Set(etcd.members.map((m) => m.id));
  const volumeUids = new Set(volumes.values());
  for (const [uid, id] of Object.entries(next)) if (!memberIds.has(id) && !volumeUids.has(uid)) delete next[uid];
  return next;
}

/** Whether the cluster ever formed: it has a cluster ID, or its members were told to join one. */
export function hasFormed(cluster: EtcdCluster, kube: KubeView): boolean {
  return (cluster.status?.clusterID ?? '') !== '' || kube.membership?.state === 'existing';
}

/**
 * Whether members or clients may trust the cluster's CA, so that a new CA would lock them out.
 * Any one sign is enough, because minting wrongly splits a running cluster while refusing wrongly
 * only asks a person to restore a Secret: the StatefulSet exists (its pods may run with the
 * current bundle, even while bootstrapping, before any cluster ID is known); member pods exist
 * (they outlive a StatefulSet deleted with orphan propagation); or the cluster formed (its users
 * were handed the client certificate and CA, even if no pod runs now).
 */
export function membersMayTrust(cluster: EtcdCluster, kube: KubeView): boolean {
  return kube.statefulSet !== undefined || kube.pods.size > 0 || hasFormed(cluster, kube);
}

/**
 * Whether the pod of an ordinal runs an older template than the StatefulSet's current one. With
 * OnDelete updates the StatefulSet controller records the new revision but replaces nothing.
 */
export function podOutdated(kube: KubeView, ordinal: number | undefined): boolean {
  const revision = kube.statefulSet?.status?.updateRevision;
  const pod = ordinal === undefined ? undefined : kube.pods.get(ordinal);
  const podRevision = pod?.metadata?.labels?.['controller-revision-hash'];
  return revision !== undefined && podRevision !== undefined && podRevision !== revision;
}

/** Created before the EtcdCluster object: it cannot have been made for it. */
export function predates(claim: V1PersistentVolumeClaim | undefined, cluster: EtcdCluster): boolean {
  const created = (o: { metadata?: { creationTimestamp?: Date | string } } | undefined) => new Date(o?.metadata?.creationTimestamp ?? NaN).getTime();
  return created(claim) < created(cluster);
}

/**
 * The planner's input, from this pass's observations. The learner records come from the
 * ConfigMap as the cache shows it, never from this pass's unwritten changes: a deadline acts
 * only on what was durably recorded.
 */
export function membershipObservation(cluster: EtcdCluster, kube: KubeView, etcd: EtcdView | undefined, records: Record<string, string>, pass: { now: Date; learnerTimeoutMs: number }): MembershipObservation {
  const leaderStatus = etcd?.members.find((m) => m.isLeader)?.status;
  const formed = hasFormed(cluster, kube);
  return {
    desired: cluster.spec.replicas,
    statefulSetReplicas: kube.statefulSet?.spec?.replicas,
    knownMembers: formed ? Math.max(cluster.status?.replicas ?? 0, kube.membership?.ordinals.length ?? 0) : 0,
    members: etcd?.members.map((m) => ({
      id: m.id,
      ordinal: m.ordinal,
      started: m.started,
      isLearner: m.isLearner,
      healthy: m.healthy,
      isLeader: m.isLeader,
      caughtUp: !m.isLearner || caughtUp(m.status, leaderStatus),
      outdated: podOutdated(kube, m.ordinal),
      name: m.name,
      problem: m.problem,
      version: m.status?.version,
      lag: lagBehind(m.status, leaderStatus),
      held: m.heldByGuard === true,
    })),
    volumes: [...kube.volumes].map(([ordinal, uid]) => {
      const claim = kube.claims.get(ordinal);
      return { ordinal, memberId: records[uid], predatesCluster: predates(claim, cluster), reclaim: claim?.metadata?.annotations?.[annotationKeys.reclaim] === 'true' };
    }),
    leavingVolumes: kube.leavingClaims ?? [],
    // emptyDir volumes die with their pods: there is nothing to retain.
    retainVolumes: cluster.spec.storage.type !== 'EmptyDir' && cluster.spec.storage.retentionPolicy !== 'Delete',
    recordedMembers: new Set(Object.values(records)),
    learner: kube.membership?.learner,
    learnerRetry: kube.membership?.learnerRetry,
    learnerTimeoutMs: pass.learnerTimeoutMs,
    now: pass.now.getTime(),
    targetVersion: cluster.spec.version,
    stuckPods: [...kube.pods].flatMap(([ordinal, pod]) => {
      const cannot = podOutdated(kube, ordinal) ? podCannotRun(pod, pass.now) : undefined;
      const why = cannot ? `it could not run etcd on an outdated template (${cannot})` : predatesItsLearner(kube, etcd, ordinal);
      return why ? [{ ordinal, why }] : [];
    }),
  };
}

/**
 * The pod at the ordinal of a learner that has not started was made before that learner was added,
 * and etcd has exited in it since its guard let it start: it crash-loops on the volume of the
 * member the cluster removed there. A container restart does not run the guard again, so the learner would
 * never start; made again, the pod's guard decides for the new member (it discards the removed
 * member's log once every member gives the peer URL to the learner). A pod in its guard, or made
 * after the add, is left alone: that is a learner starting.
 */
const podClockMarginMs = 5_000;

function predatesItsLearner(kube: KubeView, etcd: EtcdView | undefined, ordinal: number): string | undefined {
  const learner = kube.membership?.learner;
  if (!learner || learner.ordinal !== ordinal) return undefined;
  const member = etcd?.members.find((m) => m.id === learner.memberId);
  const pod = kube.pods.get(ordinal);
  if (!member || member.started || !pod || pod.metadata?.deletionTimestamp || inStartGuard(pod)) return undefined;
  // creationTimestamp has whole seconds, and the API server's clock is not the operator's.
  const created = new Date(pod.metadata?.creationTimestamp ?? NaN).getTime();
  if (!(created < new Date(learner.addedAt).getTime() - podClockMarginMs)) return undefined;
  // etcd exited in it: a learner whose guard has just let it start runs etcd too, but only a
  // removed member's identity makes etcd exit before it ever published.
  const etcdContainer = pod.status?.containerStatuses?.find((c) => c.name === etcdContainerName);
  const exited = etcdContainer && (etcdContainer.state?.terminated || etcdContainer.lastState?.terminated || (etcdContainer.restartCount ?? 0) > 0);
  if (!exited) return undefined;
  return `it was made before learner ${learner.memberId} was added at its ordinal, and etcd exited in it (the volume holds the log of the member removed there): made again, its start guard decides for the new member`;
}

/** The StatefulSet ordinals of the members etcd lists. */
export function memberOrdinals(etcd: EtcdView | undefined): number[] {
  return (etcd?.members ?? []).map((m) => m.ordinal).filter((o): o is number => o !== undefined);
}

/** Entries between the leader's log and what a member applied (a difference: a number is safe). */
export function lagBehind(member: EndpointStatus | undefined, leader: EndpointStatus | undefined): number | undefined {
  if (!member || !leader) return undefined;
  const lag = leader.raftIndex - member.raftAppliedIndex;
  return lag > 0n ? Number(lag) : 0;
}

/**
 * The voters the PodDisruptionBudget protects: those observed, less the one this pass's step
 * removes. The budget is written before the step acts, so a removal never leaves, even for one
 * pass, a budget the smaller cluster cannot afford. Added voters count from the pass that sees them.
 */
export function budgetVoters(etcd: EtcdView | undefined, step: MembershipStep): VoterHealth | undefined {
  if (!etcd) return undefined;
  const removed = step.kind === 'removeMember' ? step.memberId : undefined;
  return voterHealth(etcd.members.filter((m) => m.id !== removed));
}
