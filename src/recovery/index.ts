/**
 * The consented recovery's part of a cluster pass (plan.ts says the rules): observe, plan, act
 * one step, and say what the status shows. While it `holds`, the pass stops here: no membership
 * change and no upkeep, because the recovery owns the StatefulSet and the volumes.
 */
import type { V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { Logger } from 'winston';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster, EtcdClusterLastBackup, EtcdClusterLastRevision, EtcdClusterQuorumRecovery, EtcdClusterRecoveryRecord } from '../api/types.generated.js';
import type { AdminPool } from '../controller/admin-pool.js';
import type { CertificateOutcome } from '../controller/certificates.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import type { EtcdView } from '../controller/observe-etcd.js';
import type { KubeView } from '../controller/observe-kube.js';
import type { ClusterCache } from '../runtime/cache.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { buildMembershipConfig } from '../resources/membership-config.js';
import { type ClusterRef, labelKeys, memberHost, memberSelector, names, ports } from '../resources/names.js';
import { buildStatefulSet } from '../resources/statefulset.js';
import { buildRestoreClaim } from '../restore/pods.js';
import { type RestorePodActs, createRestorePods, observeRestorePods, podFailure, restoreClaimViews, retryRestorePods } from '../restore/reconcile.js';
import { sourceFromBackup } from '../restore/source.js';
import { backupOfCluster } from '../backup/origin.js';
import { stamped } from '../resources/applied.js';
import { buildForcePod } from './force-pod.js';
import { type ForcePodView, type RecoveryObservation, type RecoveryStep, holdsPass, planRecovery, recoveryActive } from './plan.js';
import { nextLastRevision, quorumRecoveryReport, referenceRevision, survivorsOf } from './report.js';

/**
 * Grace for the member pods a recovery stops (the pod's own is 30 s). etcd without a quorum does
 * not exit on SIGTERM for about 5 s (measured: 6 s of a ~11 s recovery), and nothing is gained
 * by waiting: a member writes its raft log (WAL) with fsync before it acknowledges or applies an
 * entry, and restarts from that log, so SIGKILL loses only what a power cut would, entries never
 * committed. Without a quorum nothing new commits, so nothing acknowledged is at stake; the
 * graceful stop's extras (moving leadership, closing client streams, flushing the backend, which
 * the next start replays from the WAL anyway) serve a cluster that keeps running, and this one
 * is being taken down whole. Not 0: a grace of 0 removes the Pod object before the kubelet has
 * stopped the process, and the recovery waits for the objects to be gone precisely so that no
 * two etcd ever open the survivor's data directory at once.
 */
const memberStopGraceSeconds = 1;

export interface RecoveryContext {
  key: string;
  cluster: EtcdCluster;
  ref: ClusterRef;
  kube: KubeView;
  /** This pass's etcd view; undefined when none answered or it is another cluster's. */
  etcd: EtcdView | undefined;
  /** The same view whatever cluster ID it has: members restored from a backup have a new one. */
  anyEtcd: EtcdView | undefined;
  /** The EtcdBackups of the namespace (the backup controller's cache). */
  backups: EtcdBackup[];
  /** The Available reason this pass (src/controller/quorum-report.ts), or ClusterIDMismatch. */
  quorum: string;
  certs: CertificateOutcome;
  cache: ClusterCache;
  admins: AdminPool;
  writer: KubeWriter;
  domain: string;
  memberInitImage: string;
  /** The newest successful backup (status.backup.lastSuccessful). */
  backup: EtcdClusterLastBackup | undefined;
  log: Logger;
  signal: AbortSignal;
  now: Date;
}

/** The status fields recovery owns: durable ones carried, the report rebuilt. */
export interface RecoveryStatus {
  lastRevision?: EtcdClusterLastRevision;
  quorumRecovery?: EtcdClusterQuorumRecovery;
  recovery?: EtcdClusterRecoveryRecord;
}

export interface RecoveryOutcome {
  holds: boolean;
  step: RecoveryStep;
  status: RecoveryStatus;
  progress?: { reason: string; message: string };
  problem?: { reason: string; message: string; key?: string };
  requeueAfterMs: number;
  /** The status may latch the cluster ID members answer with: only as a backup recovery ends. */
  latchClusterId: boolean;
}

function forcePodView(pod: V1Pod | undefined): ForcePodView | undefined {
  if (!pod) return undefined;
  const phase = (pod.status?.phase ?? 'Pending') as ForcePodView['phase'];
  return { phase, terminating: !!pod.metadata?.deletionTimestamp, failure: phase === 'Failed' ? podFailure(pod) : undefined };
}

/** Whether the --force-new-cluster pod answers as a healthy one-member cluster of the survivor. */
async function forcedAnswered(ctx: RecoveryContext, pod: V1Pod | undefined, ordinal: number, memberIdHex: string | undefined): Promise<boolean> {
  const ip = pod?.status?.podIP;
  const tls = ctx.certs.operatorTls;
  if (!ip || !tls || !memberIdHex || pod?.status?.phase !== 'Running') return false;
  const url = `https://${ip}:${ports.client}`;
  const admin = ctx.admins.get(`${ctx.key}#force-new-cluster`, [{ url, serverName: memberHost(ctx.ref, ordinal, ctx.domain) }], tls);
  try {
    const [status, list] = await Promise.all([admin.status(url), admin.memberList({ linearizable: false, endpoint: url })]);
    const id = BigInt(`0x${memberIdHex}`).toString();
    return status.memberId === id && status.leaderId === id && list.members.length === 1 && list.members[0]!.id === id;
  } catch (err) {
    ctx.log.debug('the --force-new-cluster pod does not answer yet', { error: err instanceof Error ? err.message : String(err) });
    return false;
  }
}

function ordinalOfRecord(r: EtcdClusterRecoveryRecord | undefined): number | undefined {
  const m = /-(\d+)$/.exec(r?.member ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The EtcdBackup a consent (or the recovery under way) names, resolved as spec.restore would. */
function backupOf(ctx: RecoveryContext, name: string | undefined): RecoveryObservation['backup'] {
  if (!name) return undefined;
  const backup = ctx.backups.find((b) => b.metadata?.name === name);
  const revision = backup?.status?.revision;
  return { resolution: sourceFromBackup(name, ctx.ref.namespace, backup), revision: revision === undefined ? undefined : BigInt(revision), ofThisCluster: !!backup && backupOfCluster(backup, ctx.cluster) };
}

async function observe(ctx: RecoveryContext, lastRevision: EtcdClusterLastRevision | undefined): Promise<RecoveryObservation> {
  const { cluster, ref, kube, etcd } = ctx;
  const record = cluster.status?.recovery;
  const ordinal = ordinalOfRecord(record);
  const active = recoveryActive(record);
  const survivors = survivorsOf(etcd);
  const pods = (ctx.cache.list('Pod', ref.namespace, memberSelector(ref)) as V1Pod[]).flatMap((p) => {
    const o = /-(\d+)$/.exec(p.metadata?.name ?? '');
    return o && p.metadata?.name === names.member(ref, Number(o[1])) ? [{ ordinal: Number(o[1]), terminating: !!p.metadata.deletionTimestamp }] : [];
  });
  const forcePod = active && ordinal !== undefined ? (ctx.cache.get('Pod', ref.namespace, names.forcePod(ref, ordinal)) as V1Pod | undefined) : undefined;
  const survivorId = record?.memberID ? BigInt(`0x${record.memberID}`).toString() : undefined;
  const m = kube.membership;
  const claimNames = new Set(Array.from({ length: 16 }, (_, i) => names.dataVolumeClaim(ref, i)));
  const claimsPresent = (ctx.cache.list('PersistentVolumeClaim', ref.namespace, { [labelKeys.managedBy]: 'etcd-operator' }) as V1PersistentVolumeClaim[]).filter((c) => claimNames.has(c.metadata?.name ?? '')).length;
  const backupName = (active ? record?.consent : cluster.spec.recovery)?.fromBackup?.backupName;
  return {
    uid: cluster.metadata.uid ?? '',
    consent: cluster.spec.recovery,
    record,
    formed: (cluster.status?.clusterID ?? '') !== '',
    quorumHealthy: ctx.quorum === R.quorumHealthy,
    electing: ctx.quorum === R.noLeader,
    survivors,
    persistentStorage: cluster.spec.storage.type !== 'EmptyDir',
    referenceRevision: referenceRevision(lastRevision, survivors),
    statefulSetExists: kube.statefulSet !== undefined,
    memberPods: pods,
    claims: [...kube.claims.keys()],
    forcePod: forcePodView(forcePod),
    forcedAnswered: active && ordinal !== undefined && record?.phase === 'Stopping' ? await forcedAnswered(ctx, forcePod, ordinal, record.memberID) : false,
    membershipIsSurvivorOnly: m?.state === 'existing' && m.ordinals.length === 1 && m.ordinals[0] === ordinal && !m.learner,
    survivorHealthy: !!etcd?.quorumConfirmed && etcd.leaderId !== undefined && etcd.members.some((x) => x.id === survivorId && x.healthy),
    now: ctx.now.toISOString(),
    replicas: cluster.spec.replicas,
    targetVersion: cluster.spec.version,
    backup: backupOf(ctx, backupName),
    claimsPresent,
    restorePods: active ? observeRestorePods(ctx.cache, ref) : [],
    restoreClaims: restoreClaimViews(kube.claims, cluster.metadata.uid),
    quorumAnswers: !!ctx.anyEtcd?.quorumConfirmed && ctx.anyEtcd.leaderId !== undefined,
  };
}

/** Consented recovery: one step per pass. */
export async function reconcileRecovery(ctx: RecoveryContext): Promise<RecoveryOutcome> {
  const { cluster } = ctx;
  const lastRevision = nextLastRevision(cluster.status?.lastRevision, ctx.etcd, ctx.quorum === R.quorumHealthy, ctx.now);
  const o = await observe(ctx, lastRevision);
  const planned = planRecovery(o);
  // Paused means paused, a recovery under way included: it goes on where it was once unpaused.
  const step: RecoveryStep = cluster.spec.paused && holdsPass(planned) ? { kind: 'wait', message: `spec.paused is true: the recovery waits (${describe(planned)})` } : planned;
  const formed = o.formed && !o.quorumHealthy && !o.electing && !holdsPass(step);
  const report = formed ? quorumRecoveryReport(o.survivors, o.referenceRevision, ctx.backup) : undefined;
  const record = await act(ctx, step);
  const status: RecoveryStatus = { lastRevision, quorumRecovery: report, recovery: record };
  const holds = holdsPass(step);
  const latchClusterId = step.kind === 'complete' && !!step.record.consent?.fromBackup;
  const outcome: RecoveryOutcome = { holds, step, status, latchClusterId, requeueAfterMs: holds ? (step.kind === 'wait' ? 1_000 : step.kind === 'blocked' ? 5_000 : 250) : Infinity };
  if (step.kind === 'refuse') outcome.problem = { reason: R.recoveryRefused, message: step.message };
  if (step.kind === 'fail') outcome.problem = { reason: R.recoveryFailed, message: `recovery stopped: ${step.message}` };
  if (step.kind === 'blocked') outcome.problem = { reason: R.restoreBlocked, message: step.message, key: 'restore-blocked' };
  if (holds) outcome.progress = { reason: R.recovering, message: step.kind === 'fail' ? 'the recovery stopped; see Degraded' : describe(step) };
  if (step.kind === 'fail') outcome.requeueAfterMs = 10_000;
  return outcome;
}

function describe(step: RecoveryStep): string {
  switch (step.kind) {
    case 'wait':
    case 'refuse':
    case 'fail':
    case 'blocked':
      return step.message;
    case 'begin':
    case 'ignore':
    case 'recordForced':
    case 'complete':
      return step.record.message ?? step.kind;
    case 'deleteStatefulSet':
      return 'deleting the StatefulSet (its pods and volumes are kept)';
    case 'deletePods':
      return `stopping the member pods of ordinals ${step.ordinals.join(', ')}`;
    case 'deleteClaims':
      return `deleting the volumes of the lost members (ordinals ${step.ordinals.join(', ')})`;
    case 'writeMembership':
      return `announcing member ${step.ordinal} as the only member`;
    case 'createForcePod':
      return `starting member ${step.ordinal} once with --force-new-cluster`;
    case 'deleteForcePod':
      return 'stopping the --force-new-cluster pod (it never runs again)';
    case 'createStatefulSet':
      return `creating the StatefulSet with ${step.replicas} replicas to start the recovered member`;
    case 'recordPhase':
      return step.record.message ?? step.record.phase;
    case 'createRestoreClaims':
      return `creating new volumes for ordinals ${step.ordinals.join(', ')}`;
    case 'retryRestorePods':
      return `running restore pods ${step.pods.map((p) => p.name).join(', ')} again after a failure that may clear by itself`;
    case 'createRestorePods':
      return `restoring the snapshot onto the volumes of ordinals ${step.ordinals.join(', ')}`;
    case 'deleteRestorePods':
      return 'deleting the restore pods';
    case 'forget':
    case 'none':
      return step.kind;
  }
}

const restoreActs = (ctx: RecoveryContext): RestorePodActs => ({ cluster: ctx.cluster, writer: ctx.writer, signal: ctx.signal, log: ctx.log, now: ctx.now, domain: ctx.domain, operatorImage: ctx.memberInitImage });

/** Carries out one step; returns status.recovery as it must read after it. */
async function act(ctx: RecoveryContext, step: RecoveryStep): Promise<EtcdClusterRecoveryRecord | undefined> {
  const { cluster, ref, writer, signal, log } = ctx;
  const record = cluster.status?.recovery;
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => writer.event(cluster, type, reason, message, ctx.now);
  const ordinal = ordinalOfRecord(record);
  switch (step.kind) {
    case 'none':
    case 'refuse':
    case 'wait':
    case 'fail':
    case 'blocked':
      return record;
    case 'forget': {
      // The history stays; only the consent goes, so the same consent may be given again.
      const rest = { ...record! };
      delete rest.consent;
      return rest;
    }
    case 'ignore':
      await event('Normal', 'RecoveryConsentIgnored', step.record.message!);
      return step.record;
    case 'begin':
      log.warn('consented recovery begins', { record: step.record });
      await event('Warning', 'RecoveryStarted', step.record.message!);
      return step.record;
    case 'deleteStatefulSet':
      // Orphan: with retentionPolicy Delete the StatefulSet would otherwise take the survivor's volume.
      await writer.delete('StatefulSet', 'apps/v1', ref.namespace, names.statefulSet(ref), signal, { propagationPolicy: 'Orphan' });
      crashpoint('recovery-deleteStatefulSet');
      return record;
    case 'deletePods':
      for (const o of step.ordinals) await writer.delete('Pod', 'v1', ref.namespace, names.member(ref, o), signal, { gracePeriodSeconds: memberStopGraceSeconds });
      return record;
    case 'deleteClaims':
      for (const o of step.ordinals) await writer.delete('PersistentVolumeClaim', 'v1', ref.namespace, names.dataVolumeClaim(ref, o), signal);
      await event('Warning', 'LostVolumesDeleted', `deleted the volumes of ordinals ${step.ordinals.join(', ')}: their members are no longer members after the recovery from ${record?.member}`);
      crashpoint('recovery-deleteClaims');
      return record;
    case 'writeMembership': {
      const uid = ctx.kube.claims.get(step.ordinal)?.metadata?.uid;
      await writer.apply(buildMembershipConfig(cluster, { state: 'existing', ordinals: [step.ordinal], memberVolumes: uid ? { [uid]: step.memberId } : {} }), signal);
      return record;
    }
    case 'createForcePod':
      await writer.apply(buildForcePod(cluster, ref, step.ordinal, ctx.domain, ctx.certs.trustBundleHash), signal);
      await event('Warning', 'ForceNewCluster', `started ${record?.member} once with --force-new-cluster on its own volume`);
      crashpoint('recovery-createForcePod');
      return record;
    case 'recordForced':
      await event('Normal', 'ForceNewClusterAnswered', step.record.message!);
      return step.record;
    case 'deleteForcePod':
      await writer.delete('Pod', 'v1', ref.namespace, names.forcePod(ref, ordinal!), signal);
      ctx.admins.drop(`${ctx.key}#force-new-cluster`);
      crashpoint('recovery-deleteForcePod');
      return record;
    case 'createStatefulSet':
      await writer.apply(stamped(buildStatefulSet(cluster, step.replicas, ctx.certs.trustBundleHash, ctx.domain, ctx.memberInitImage)), signal);
      await event('Normal', 'StatefulSetCreated', `StatefulSet ${names.statefulSet(ref)} created with ${step.replicas} replicas to start the recovered member ${record?.member}`);
      return record;
    case 'complete':
      await event('Warning', 'Recovered', step.record.message!);
      return step.record;
    case 'recordPhase':
      await event('Normal', 'RecoveryProgressed', step.record.message!);
      return step.record;
    case 'createRestoreClaims':
      for (const o of step.ordinals) await writer.apply(buildRestoreClaim(cluster, o), signal);
      return record;
    case 'createRestorePods': {
      const backup = backupOf(ctx, record?.consent?.fromBackup?.backupName);
      if (backup?.resolution.state !== 'ready') throw new Error('restore pods planned without a ready backup');
      await createRestorePods(restoreActs(ctx), backup.resolution.source, step, restoreClaimViews(ctx.kube.claims, cluster.metadata.uid));
      await event('Normal', 'RestoreStarted', `restoring ${backup.resolution.source.description} onto the volumes of ordinals ${step.ordinals.join(', ')}`);
      crashpoint('recovery-createRestorePods');
      return record;
    }
    case 'retryRestorePods':
      await retryRestorePods(restoreActs(ctx), step.pods);
      return record;
    case 'deleteRestorePods':
      for (const n of step.names) await writer.delete('Pod', 'v1', ref.namespace, n, signal);
      return record;
  }
}
