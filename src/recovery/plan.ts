/**
 * Quorum-loss recovery with the user's consent, pure: the single next step of a pass.
 *
 * Destructive by nature (it drops members, their volumes and every write a survivor lacks), so
 * the rules come first, in plain words:
 * - The operator never recovers on its own. spec.recovery must name this object's UID (a copied
 *   manifest names another); a consent naming another UID is refused, said in Degraded and a
 *   Warning event, and nothing is recorded, so a corrected consent can still act.
 * - A consent acts only while the quorum of a cluster that formed is lost. Seen while the quorum
 *   is healthy it is recorded as Ignored, for good: a consent given in advance would otherwise
 *   fire at the next loss without anyone deciding then. While members that could form a quorum
 *   elect a leader, it waits: that is not a loss, and may end either way.
 * - A consent acts once. status.recovery records the consent it acted on; the same consent is
 *   spent until spec.recovery is removed (then the record forgets it).
 * - Once begun (the record says Stopping), a recovery runs to its end whatever spec.recovery
 *   becomes: the members may already be gone. Every step is idempotent and observable, so an
 *   operator killed at any point picks up from the record and the world.
 * - From a survivor: delete the StatefulSet leaving pods and volumes (its claim retention must not
 *   take the survivor's volume), delete the member pods and wait until none is left (two etcd on
 *   one data directory would be worse than the loss), delete the lost members' volumes, write the
 *   membership as the survivor alone, run the survivor ONCE with --force-new-cluster in a pod of
 *   its own (restartPolicy Never, not a StatefulSet pod), and as soon as it answers as a healthy
 *   one-member cluster record that (Rejoining): from then on that pod is only ever deleted, never
 *   created again, so the flag cannot take effect a second time after learners joined. Then the
 *   StatefulSet comes back up to the survivor's ordinal, and when the survivor answers healthy
 *   the recovery Succeeded; the membership planner grows the cluster through learners.
 * - From a backup (a Succeeded EtcdBackup of this cluster, not newer than spec.version): delete
 *   the StatefulSet, the member pods and every member volume, and wait until the claims are gone;
 *   record Restoring; then the restore machinery of spec.restore (src/restore) lays the snapshot
 *   on new claims, one restore pod per member, a failed one judged as spec.restore judges it
 *   (an object store that may come back is waited for, up to 4 times; a verdict stops the
 *   recovery); once all succeeded record Rejoining, create the
 *   StatefulSet at spec.replicas, delete the restore pods, and when the restored members answer
 *   with a quorum the recovery Succeeded. The latch in status takes the cluster ID the restored
 *   members answer with only in that last step (no other pass ever moves it); etcd derives it
 *   from the peer URLs and cluster token, which stay, so it is in practice the old one.
 */
import type { EtcdClusterRecoveryConsent, EtcdClusterRecoveryRecord, EtcdClusterSpentConsent } from '../api/types.generated.js';
import { type ClaimView, type RestorePodView, type SourceResolution, blockedMessage, versionProblem } from '../restore/plan.js';
import { type PodRetry, judgeFailedPods, nextPodRetries } from '../restore/retries.js';

export interface Survivor {
  ordinal: number;
  name: string;
  /** Decimal member ID (64-bit: never a JS number). */
  memberId: string;
  appliedIndex: bigint;
  revision: bigint | undefined;
}

export interface ForcePodView {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  terminating: boolean;
  failure?: string;
}

export interface RecoveryObservation {
  uid: string;
  consent: EtcdClusterRecoveryConsent | undefined;
  record: EtcdClusterRecoveryRecord | undefined;
  /** A cluster ID is latched: the cluster once formed. */
  formed: boolean;
  /** A quorum of voters is healthy this pass. */
  quorumHealthy: boolean;
  /**
   * Enough voters answer for a quorum but none leads yet (an election): neither healthy nor lost.
   * A consent then neither acts nor is spent; it is weighed again once the election ends or the
   * wait turns into a lost quorum (src/controller/quorum-report.ts, leaderlessGraceMs).
   */
  electing: boolean;
  /** Voters that answer for themselves, most advanced first. */
  survivors: Survivor[];
  persistentStorage: boolean;
  /** The highest revision known (reference for losses). */
  referenceRevision: bigint | undefined;
  statefulSetExists: boolean;
  /** Member pods still present, terminating ones included. */
  memberPods: { ordinal: number; terminating: boolean }[];
  /** Ordinals that have a volume claim (not being deleted). */
  claims: number[];
  forcePod: ForcePodView | undefined;
  /** The force pod answered as a one-member cluster of the survivor's ID, with itself leading. */
  forcedAnswered: boolean;
  /** The membership ConfigMap announces the survivor alone. */
  membershipIsSurvivorOnly: boolean;
  /** The survivor answers healthy, leading a quorum, from its StatefulSet pod. */
  survivorHealthy: boolean;
  /** ISO time of this pass. */
  now: string;
  /** For a recovery from a backup: spec.replicas and spec.version. */
  replicas: number;
  targetVersion: string;
  /** The named EtcdBackup, resolved as spec.restore would; its revision when recorded. */
  backup?: { resolution: SourceResolution; revision: bigint | undefined; ofThisCluster: boolean };
  /** Claims that still exist, terminating ones included (a new claim of that name must wait). */
  claimsPresent: number;
  restorePods: RestorePodView[];
  /** The member claims with their restore marks and retry counts (src/restore/retries.ts). */
  restoreClaims: ClaimView[];
  /** Members answer with a quorum and a leader (any cluster ID: a restore makes a new one). */
  quorumAnswers: boolean;
}

export type RecoveryStep =
  | { kind: 'none' }
  | { kind: 'refuse'; message: string }
  | { kind: 'forget' }
  | { kind: 'ignore'; record: EtcdClusterRecoveryRecord }
  | { kind: 'begin'; record: EtcdClusterRecoveryRecord }
  | { kind: 'deleteStatefulSet' }
  | { kind: 'deletePods'; ordinals: number[] }
  | { kind: 'deleteClaims'; ordinals: number[] }
  | { kind: 'writeMembership'; ordinal: number; memberId: string }
  | { kind: 'createForcePod'; ordinal: number }
  | { kind: 'recordForced'; record: EtcdClusterRecoveryRecord }
  | { kind: 'deleteForcePod' }
  | { kind: 'createStatefulSet'; replicas: number }
  | { kind: 'recordPhase'; record: EtcdClusterRecoveryRecord }
  | { kind: 'createRestoreClaims'; ordinals: number[] }
  /** `retries[i]` is the retry the pod of `ordinals[i]` is; `reset` are those whose failed pod a user deleted. */
  | { kind: 'createRestorePods'; ordinals: number[]; retries: number[]; reset: number[] }
  /** Record the retry on each volume, then delete its failed pod: the next pass makes it again. */
  | { kind: 'retryRestorePods'; pods: PodRetry[] }
  | { kind: 'deleteRestorePods'; names: string[] }
  | { kind: 'complete'; record: EtcdClusterRecoveryRecord }
  | { kind: 'fail'; message: string }
  /** Restore pods cannot start (a Secret gone, an image): wait, saying why in Degraded. */
  | { kind: 'blocked'; message: string }
  | { kind: 'wait'; message: string };

/** Steps after which the rest of the pass (membership, upkeep) must not run. */
export function holdsPass(step: RecoveryStep): boolean {
  return !['none', 'refuse', 'forget', 'ignore'].includes(step.kind);
}

/** The consent's identity: its fields in a fixed order. */
export function consentKey(c: EtcdClusterRecoveryConsent | EtcdClusterSpentConsent | undefined): string {
  if (!c) return '';
  return JSON.stringify([c.clusterUID, c.fromSurvivor ? ['survivor', c.fromSurvivor.member ?? ''] : null, c.fromBackup ? ['backup', c.fromBackup.backupName] : null]);
}

/** A recovery has begun and not ended: it owns the StatefulSet, the volumes and restore pods. */
export const recoveryActive = (r: EtcdClusterRecoveryRecord | undefined) => r?.phase === 'Stopping' || r?.phase === 'Restoring' || r?.phase === 'Rejoining';
const inProgress = recoveryActive;

const loss = (reference: bigint | undefined, revision: bigint | undefined) => (reference !== undefined && revision !== undefined && reference > revision ? reference - revision : 0n);

function copyConsent(c: EtcdClusterRecoveryConsent): EtcdClusterSpentConsent {
  return JSON.parse(JSON.stringify(c)) as EtcdClusterSpentConsent;
}

export function planRecovery(o: RecoveryObservation): RecoveryStep {
  if (inProgress(o.record)) return continueRecovery(o, o.record!);
  if (!o.consent) return o.record?.consent ? { kind: 'forget' } : { kind: 'none' };
  if (o.record?.consent && consentKey(o.record.consent) === consentKey(o.consent)) return { kind: 'none' };
  return considerConsent(o, o.consent);
}

function considerConsent(o: RecoveryObservation, consent: EtcdClusterRecoveryConsent): RecoveryStep {
  if (consent.clusterUID !== o.uid) {
    return { kind: 'refuse', message: `spec.recovery.clusterUID ${consent.clusterUID} is not this EtcdCluster's metadata.uid (${o.uid}): a consent copied from another cluster is refused. Nothing was done` };
  }
  if (!o.formed) return { kind: 'refuse', message: 'spec.recovery: this cluster never formed, so there is nothing to recover. Nothing was done' };
  if (o.electing) return { kind: 'none' };
  if (o.quorumHealthy) {
    const message = 'spec.recovery was given while the quorum is healthy: ignored, and it stays ignored (a consent given in advance must not fire at a later loss). Remove spec.recovery; give it again only while the quorum is lost';
    return { kind: 'ignore', record: { consent: copyConsent(consent), phase: 'Ignored', startedAt: o.now, message } };
  }
  if (consent.fromBackup) return considerBackup(o, consent, consent.fromBackup.backupName);
  if (!o.persistentStorage) return { kind: 'refuse', message: 'spec.recovery.fromSurvivor needs storage.type PersistentVolumeClaim: an emptyDir member loses its data when its pod stops. Nothing was done' };
  const named = consent.fromSurvivor?.member;
  const survivor = named ? o.survivors.find((s) => s.name === named) : o.survivors[0];
  if (!survivor) {
    const answering = o.survivors.map((s) => s.name).join(', ') || 'none';
    return { kind: 'refuse', message: `spec.recovery.fromSurvivor: ${named ? `member ${named} does not answer` : 'no voting member answers'} (answering: ${answering}). Nothing was done` };
  }
  const lost = loss(o.referenceRevision, survivor.revision);
  const message = `recovering from member ${survivor.name} (revision ${survivor.revision ?? '?'}, applied index ${survivor.appliedIndex}): it restarts once with --force-new-cluster, the other members and their volumes are deleted; ${lost} revision(s) lost against the highest known revision ${o.referenceRevision ?? '?'}`;
  return {
    kind: 'begin',
    record: { consent: copyConsent(consent), phase: 'Stopping', member: survivor.name, memberID: BigInt(survivor.memberId).toString(16), revision: Number(survivor.revision ?? 0n), lostRevisions: Number(lost), startedAt: o.now, message },
  };
}

function considerBackup(o: RecoveryObservation, consent: EtcdClusterRecoveryConsent, name: string): RecoveryStep {
  if (!o.persistentStorage) return { kind: 'refuse', message: 'spec.recovery.fromBackup needs storage.type PersistentVolumeClaim: the snapshot is restored onto each member\'s volume. Nothing was done' };
  const b = o.backup;
  if (!b || b.resolution.state === 'invalid') return { kind: 'refuse', message: `spec.recovery.fromBackup: ${b?.resolution.state === 'invalid' ? b.resolution.message : `EtcdBackup ${name} not found`}. Nothing was done` };
  if (b.resolution.state === 'waiting') return { kind: 'refuse', message: `spec.recovery.fromBackup: ${b.resolution.message}. Nothing was done` };
  if (!b.ofThisCluster) return { kind: 'refuse', message: `spec.recovery.fromBackup: EtcdBackup ${name} is not a backup of this cluster (another cluster's, or an earlier EtcdCluster's of the same name: restore it into a new EtcdCluster with spec.restore instead). Nothing was done` };
  const tooNew = versionProblem(b.resolution.source.etcdVersion, o.targetVersion);
  if (tooNew) return { kind: 'refuse', message: `spec.recovery.fromBackup: ${tooNew}. Nothing was done` };
  const lost = loss(o.referenceRevision, b.revision);
  const message = `recovering from EtcdBackup ${name} (revision ${b.revision ?? '?'}): every member and volume is deleted and rebuilt from its snapshot; ${lost} revision(s) lost against the highest known revision ${o.referenceRevision ?? '?'}`;
  return { kind: 'begin', record: { consent: copyConsent(consent), phase: 'Stopping', revision: Number(b.revision ?? 0n), lostRevisions: Number(lost), startedAt: o.now, message } };
}

function continueRecovery(o: RecoveryObservation, r: EtcdClusterRecoveryRecord): RecoveryStep {
  if (r.consent?.fromBackup) return continueFromBackup(o, r, r.consent.fromBackup.backupName);
  const ordinal = Number(/-(\d+)$/.exec(r.member ?? '')?.[1] ?? NaN);
  const memberId = BigInt(`0x${r.memberID ?? '0'}`).toString();
  if (!Number.isInteger(ordinal)) return { kind: 'fail', message: `status.recovery names no member to recover from (${r.member ?? 'none'})` };
  return r.phase === 'Stopping' ? stopAndForce(o, r, ordinal, memberId) : rejoin(o, r, ordinal, memberId);
}

function stopAndForce(o: RecoveryObservation, r: EtcdClusterRecoveryRecord, ordinal: number, memberId: string): RecoveryStep {
  if (o.statefulSetExists) return { kind: 'deleteStatefulSet' };
  const running = o.memberPods.filter((p) => !p.terminating).map((p) => p.ordinal);
  if (running.length > 0) return { kind: 'deletePods', ordinals: running };
  if (o.memberPods.length > 0) return { kind: 'wait', message: `waiting for the member pods to stop (${o.memberPods.length} left)` };
  const lostClaims = o.claims.filter((c) => c !== ordinal);
  if (lostClaims.length > 0) return { kind: 'deleteClaims', ordinals: lostClaims };
  if (!o.claims.includes(ordinal)) return { kind: 'fail', message: `the volume of ${r.member} is gone: there is no data left to recover from. Recover from a backup instead` };
  if (!o.membershipIsSurvivorOnly) return { kind: 'writeMembership', ordinal, memberId };
  if (!o.forcePod) return { kind: 'createForcePod', ordinal };
  if (o.forcedAnswered) {
    return { kind: 'recordForced', record: { ...r, phase: 'Rejoining', message: `${r.member} ran once with --force-new-cluster and answered as a one-member cluster; it starts again normally and the cluster grows back through learners` } };
  }
  if (o.forcePod.phase === 'Failed' || o.forcePod.phase === 'Succeeded') {
    return { kind: 'fail', message: `the pod running ${r.member} with --force-new-cluster stopped (${o.forcePod.failure ?? o.forcePod.phase}) before it answered. It is kept to be inspected; delete it to try again` };
  }
  return { kind: 'wait', message: `waiting for ${r.member} to answer as a one-member cluster (started with --force-new-cluster)` };
}

function rejoin(o: RecoveryObservation, r: EtcdClusterRecoveryRecord, ordinal: number, memberId: string): RecoveryStep {
  // The flag's one run is over: its pod goes, whatever state it is in, and is never made again.
  if (o.forcePod) return o.forcePod.terminating ? { kind: 'wait', message: 'waiting for the --force-new-cluster pod to stop' } : { kind: 'deleteForcePod' };
  if (!o.membershipIsSurvivorOnly && !o.statefulSetExists) return { kind: 'writeMembership', ordinal, memberId };
  if (!o.statefulSetExists) return { kind: 'createStatefulSet', replicas: ordinal + 1 };
  if (o.survivorHealthy) {
    return { kind: 'complete', record: { ...r, phase: 'Succeeded', completedAt: o.now, message: `recovered from ${r.member} at revision ${r.revision ?? '?'}; ${r.lostRevisions ?? 0} revision(s) lost. The cluster grows back to spec.replicas through learners` } };
  }
  return { kind: 'wait', message: `waiting for ${r.member} to answer from its StatefulSet pod` };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function continueFromBackup(o: RecoveryObservation, r: EtcdClusterRecoveryRecord, name: string): RecoveryStep {
  if (r.phase === 'Stopping') {
    if (o.statefulSetExists) return { kind: 'deleteStatefulSet' };
    const running = o.memberPods.filter((p) => !p.terminating).map((p) => p.ordinal);
    if (running.length > 0) return { kind: 'deletePods', ordinals: running };
    if (o.memberPods.length > 0) return { kind: 'wait', message: `waiting for the member pods to stop (${o.memberPods.length} left)` };
    if (o.claims.length > 0) return { kind: 'deleteClaims', ordinals: o.claims };
    if (o.claimsPresent > 0) return { kind: 'wait', message: `waiting for ${o.claimsPresent} member volume(s) to be deleted` };
    return { kind: 'recordPhase', record: { ...r, phase: 'Restoring', message: `restoring EtcdBackup ${name} onto ${o.replicas} new member volumes` } };
  }
  if (r.phase === 'Restoring') {
    // Failed restore pods are judged as spec.restore judges them: an object store that may come
    // back is waited for, a verdict stops the recovery (src/restore/retries.ts).
    const failed = judgeFailedPods(o.restorePods, o.restoreClaims, Date.parse(o.now));
    if (failed?.kind === 'stop') return { kind: 'fail', message: `${failed.why}. Fix the cause, then delete the failed restore pods to try again, with the retry count back at 0` };
    if (failed) return failed.kind === 'wait' ? failed : { kind: 'retryRestorePods', pods: failed.pods };
    const missingClaims = range(o.replicas).filter((i) => !o.claims.includes(i));
    if (missingClaims.length > 0) return o.claimsPresent > o.claims.length ? { kind: 'wait', message: 'waiting for old member volumes to be deleted' } : { kind: 'createRestoreClaims', ordinals: missingClaims };
    const podded = new Set(o.restorePods.map((p) => p.ordinal));
    const missingPods = range(o.replicas).filter((i) => !podded.has(i));
    // The EtcdBackup gates only making restore pods: each carries what it fetches and checks, so
    // one deleted after that must not stop a recovery whose volumes are (being) restored.
    if (missingPods.length > 0 && o.backup?.resolution.state !== 'ready') return { kind: 'fail', message: `EtcdBackup ${name} is no longer usable (${o.backup?.resolution.message ?? 'not found'}): the member volumes are empty; restore it or another backup into a new EtcdCluster` };
    if (missingPods.length > 0) return { kind: 'createRestorePods', ordinals: missingPods, ...nextPodRetries(missingPods, o.restoreClaims) };
    const done = o.restorePods.filter((p) => p.phase === 'Succeeded').length;
    const blocked = o.restorePods.filter((p) => p.blocked && p.phase !== 'Succeeded').sort((a, b) => a.ordinal - b.ordinal);
    if (blocked.length > 0) return { kind: 'blocked', message: blockedMessage(blocked, 'the recovery goes on by itself once that is fixed') };
    if (done < o.replicas) return { kind: 'wait', message: `restoring EtcdBackup ${name}: ${done}/${o.replicas} member volumes done` };
    return { kind: 'recordPhase', record: { ...r, phase: 'Rejoining', message: `every member volume holds EtcdBackup ${name}; the members start from it` } };
  }
  if (!o.statefulSetExists) return { kind: 'createStatefulSet', replicas: o.replicas };
  // Only once the StatefulSet exists: a stale view can then never run a restore again on a volume etcd uses.
  if (o.restorePods.length > 0) return { kind: 'deleteRestorePods', names: o.restorePods.map((p) => p.name).sort() };
  if (o.quorumAnswers) {
    return { kind: 'complete', record: { ...r, phase: 'Succeeded', completedAt: o.now, message: `recovered from EtcdBackup ${name} at revision ${r.revision ?? '?'}; ${r.lostRevisions ?? 0} revision(s) lost` } };
  }
  return { kind: 'wait', message: `waiting for the members restored from EtcdBackup ${name} to form a quorum` };
}
