import type { KubeConfig, V1ConfigMap, V1PersistentVolumeClaim, V1Secret } from '@kubernetes/client-node';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster, EtcdClusterStatus } from '../api/types.generated.js';
import { clusterBackupStatus, scheduleProblem } from '../backup/cluster-status.js';
import type { ClusterCache } from '../runtime/cache.js';
import type { Clock } from '../runtime/clock.js';
import { crashpoint } from '../runtime/crashpoints.js';
import { splitKey } from '../runtime/kinds.js';
import type { PassContext, Reconciler, Result } from '../runtime/reconciler.js';
import { buildMembershipConfig } from '../resources/membership-config.js';
import { type ClusterRef, annotationKeys, names } from '../resources/names.js';
import { clusterRef } from '../resources/owner.js';
import { buildPodDisruptionBudget } from '../resources/pdb.js';
import { buildClientService, buildPeerService } from '../resources/services.js';
import { buildStatefulSet } from '../resources/statefulset.js';
import { type RecoveryOutcome, reconcileRecovery } from '../recovery/index.js';
import { type RestoreOutcome, reconcileRestore } from '../restore/reconcile.js';
import { actStorage, describeStorage } from '../storage/act.js';
import { readClasses, storageObservation, withLiveClaimTemplates } from '../storage/observe.js';
import { type StorageStep, planStorage } from '../storage/plan.js';
import type { AdminPool } from './admin-pool.js';
import { membersRolled } from './ca-rotation.js';
import { keepClientOpen } from './client-lifetime.js';
import { type CertificateOutcome, reconcileCertificates } from './certificates.js';
import { DecisionWarnings, describeDecision } from './decisions.js';
import { describeFailure } from './failures.js';
import { clusterIdGate, identityOf, predatingVolumeGate } from './identity.js';
import type { KubeWriter } from './kube-writer.js';
import { requeueAfter, settled } from './requeue.js';
import { type LearnerRecords, defaultLearnerTimeoutMs, learnerProblems, nextLearnerRecords } from './learners.js';
import { type MembershipStep, planMembership } from './membership.js';
import { type Notice, NoticeMemo, refusalNotices } from './notices.js';
import { budgetVoters, memberOrdinals, membersMayTrust, membershipObservation, updateVolumeRecords } from './observation.js';
import { type EtcdView, type RefusedEndpoint, observeEtcdOrNone } from './observe-etcd.js';
import { type KubeView, memberEndpoints, observeKube } from './observe-kube.js';
import { availability, quorumLossEvent, recoveryQuorum } from './quorum-report.js';
import { askHeldGuards, guardImage, guardLookAfterMs, withStartGuardProblems } from './start-guard.js';
import { type AskGuard, askGuardOverHttp } from './guard-evidence.js';
import { podLookAfterMs, podNotices } from './pod-state.js';
import { actEmptyData, planEmptyData, refusalInTemplate } from './empty-data.js';
import { computeStatus } from './status.js';
import { heldByDowngrade, reconcileDowngrade } from '../versions/downgrade-act.js';
import { optionsRefusal } from '../versions/options-gate.js';
import { act, announcedOrdinals, membershipUnchanged } from './steps.js';
import { isSubset, sameJson } from './subset.js';
import { stamped } from '../resources/applied.js';
import { type ClusterMetrics, snapshotOf } from '../telemetry/cluster-metrics.js';
import { Upkeep } from '../upkeep/index.js';
import type { UpkeepMetrics } from '../upkeep/metrics.js';
import { defaultOperatorImage } from '../version.js';

export interface ReconcilerDeps {
  cache: ClusterCache;
  kc: KubeConfig;
  writer: KubeWriter;
  admins: AdminPool;
  clock: Clock;
  clusterDomain: string;
  /** The image of the member pods' start guard (default: this operator's release image). */
  memberInitImage?: string;
  /** PVCs of a namespace, from the cache. */
  pvcs: (namespace: string) => V1PersistentVolumeClaim[];
  /** Per-cluster health metrics; also remembers health between passes to log its transitions. */
  metrics?: ClusterMetrics;
  /** How long a learner may take to start and catch up before it is removed (--learner-timeout). */
  learnerTimeoutMs?: number;
  /** The EtcdBackups of a namespace (the backup controller's cache), for status.backup. */
  backups?: (namespace: string) => EtcdBackup[];
  /** Metrics of defragmentation, alarms and the consistency check. */
  upkeepMetrics?: UpkeepMetrics;
  /** Asks a pod's start guard why it waits (default: over HTTP, guard-evidence.ts). */
  askGuard?: AskGuard;
}

/** What a pass observed before it failed, if it failed. */
interface Seen {
  certs?: CertificateOutcome;
  etcd?: EtcdView;
  refused?: RefusedEndpoint[];
  learners?: LearnerRecords;
  step?: MembershipStep;
}

export class EtcdClusterReconciler implements Reconciler {
  /** Events of lasting states already sent, so that they are not sent on every pass. */
  private readonly notices = new NoticeMemo();

  private readonly warnings = new DecisionWarnings();

  private readonly memberInitImage: string;
  /** When each cluster's member versions were last read (src/versions/downgrade-act.ts). */
  private readonly downgradeChecks = new Map<string, number>();

  /** Defragmentation, NOSPACE and the consistency check (src/upkeep). */
  private readonly upkeep: Upkeep;

  constructor(private readonly deps: ReconcilerDeps) {
    this.memberInitImage = deps.memberInitImage ?? defaultOperatorImage;
    this.upkeep = new Upkeep(deps.upkeepMetrics);
  }

  async reconcile(key: string, ctx: PassContext): Promise<Result> {
    const { namespace, name } = splitKey(key);
    const cluster = this.deps.cache.get('EtcdCluster', namespace, name) as EtcdCluster | undefined;
    if (!cluster || cluster.metadata.deletionTimestamp) {
      // Children go with the owner through the garbage collector; only our connections remain.
      this.deps.admins.drop(key);
      this.deps.cache.releaseNamed?.(key);
      this.notices.forget(key);
      this.deps.metrics?.forget({ namespace, name });
      this.warnings.forget(key);
      this.upkeep.forget(key, { namespace, name });
      return {};
    }
    const seen: Seen = {};
    try {
      const result = await this.pass(key, cluster, ctx, seen);
      if (!keepClientOpen(result)) this.deps.admins.release(key);
      return result;
    } catch (err) {
      await this.reportFailure(key, cluster, seen, err, ctx);
      throw err;
    }
  }

  /** One pass over a live cluster; `seen` keeps what it observed, for the status if it fails. */
  private async pass(key: string, cluster: EtcdCluster, ctx: PassContext, seen: Seen): Promise<Result> {
    const ref = clusterRef(cluster);
    const now = new Date(this.deps.clock.now());
    const kube = observeKube(this.deps.cache, cluster, ref, this.deps.pvcs);
    const certs = await reconcileCertificates(this.deps, cluster, ref, membersMayTrust(cluster, kube), now, (hash) => membersRolled(kube, hash));
    seen.certs = certs;
    // Paused means paused: no child is written, only the status (and one event saying so).
    const paused = cluster.spec.paused === true;
    if (!paused) await this.applyIfChanged([buildPeerService(cluster), buildClientService(cluster)], ctx.signal);

    // A new cluster restored from a snapshot: nothing of etcd starts until every volume holds it.
    const restore = await reconcileRestore({ cluster, ref, cache: this.deps.cache, statefulSet: kube.statefulSet, claims: kube.claims, kc: this.deps.kc, writer: this.deps.writer, domain: this.deps.clusterDomain, operatorImage: this.memberInitImage, log: ctx.log, signal: ctx.signal, now, backups: this.deps.backups?.(ref.namespace) });
    if (restore.holds) return this.holdForRestore(key, cluster, certs, restore, ctx, now);

    const endpoints = memberEndpoints(kube, ref, this.deps.clusterDomain);
    const admin = certs.operatorTls && endpoints.length > 0 ? this.deps.admins.get(key, endpoints, certs.operatorTls) : undefined;
    const observed = admin ? await observeEtcdOrNone(admin, ref, endpoints, ctx.log) : { refused: [] };
    const etcd = withStartGuardProblems(observed.etcd, kube, now, { answers: await askHeldGuards(observed.etcd, kube, now, this.deps.askGuard ?? askGuardOverHttp()), guardImage: this.memberInitImage });
    const unverified = (seen.refused = observed.refused);
    seen.etcd = etcd;
    // Recorded before acting, so a failing step still leaves the health of this pass visible.
    this.recordHealth(cluster, ref, etcd, unverified, ctx, now);
    const identity = identityOf(cluster, etcd, endpoints);
    const mismatch = clusterIdGate(identity);
    // A recovery the user consented to comes before every planner; while it runs it owns the pass.
    const recovery = await reconcileRecovery({ key, cluster, ref, kube, etcd: mismatch ? undefined : etcd, anyEtcd: etcd, backups: this.deps.backups?.(ref.namespace) ?? [], quorum: mismatch ? R.clusterIdMismatch : recoveryQuorum(availability(etcd, undefined, cluster.status?.conditions, now, unverified).reason), certs, cache: this.deps.cache, admins: this.deps.admins, writer: this.deps.writer, domain: this.deps.clusterDomain, memberInitImage: this.memberInitImage, backup: this.backupStatus(cluster, now)?.lastSuccessful, log: ctx.log, signal: ctx.signal, now });
    if (recovery.holds) return this.holdForRecovery(key, cluster, certs, etcd, recovery, ctx, now);
    // Members of another cluster are neither recorded on our volumes nor announced to our pods.
    const trusted = mismatch ? undefined : etcd;
    const records = updateVolumeRecords(kube.membership?.memberVolumes ?? {}, trusted, kube.runningVolumes ?? kube.volumes);
    const learners = nextLearnerRecords({ learner: kube.membership?.learner, learnerRetry: kube.membership?.learnerRetry }, trusted?.members, cluster.spec.replicas, now);
    seen.learners = learners;
    const trustBundleHash = certs.operatorTls ? certs.trustBundleHash : '';
    const live = kube.statefulSet;
    // Stamped with the digest of what is built (before the live claim templates replace the built
    // ones), as steps.ts stamps its create and scale; the guard's and refusal's checks go unstamped.
    const build = (image: string, refuse = true, stamp = <T>(o: T) => o) => withLiveClaimTemplates(live ? stamp(buildStatefulSet(cluster, live.spec?.replicas ?? 0, trustBundleHash, this.deps.clusterDomain, image, refuse)) : undefined, live);
    const initImage = guardImage(live, build(this.memberInitImage), this.memberInitImage);
    const refuseEmptyData = refusalInTemplate(live, build(initImage, false));
    const desiredSts = build(initImage, refuseEmptyData, stamped);
    const templateChanged = !!live && !isSubset(desiredSts, live);
    // A StatefulSet an earlier release made has no stamp: if its spec is as desired, the stamp is
    // all that changes and no pod waits on it. A changed stamp may be a field removed: it waits.
    const unstampedOnly = !!live && !live.metadata?.annotations?.[annotationKeys.applied] && isSubset(desiredSts?.spec, live.spec);
    const templatePending = (templateChanged && !unstampedOnly) || (!!live && (live.status?.observedGeneration ?? 0) < (live.metadata?.generation ?? 0));
    const observation = { ...membershipObservation(cluster, kube, etcd, records, { now, learnerTimeoutMs: this.deps.learnerTimeoutMs ?? defaultLearnerTimeoutMs }), templatePending };
    const planned = mismatch ?? predatingVolumeGate(observation, identity.expected) ?? this.upkeep.gate(key, trusted) ?? planMembership(observation);
    // Paused clusters, clusters without usable certificates and options the version does not
    // know (before any member is given them) are observed, never changed.
    const refusal = optionsRefusal(cluster);
    const blocked = cluster.spec.paused || !certs.operatorTls || !!refusal;
    // A downgrade (3.6 -> 3.5) goes through etcd's API first; no member restarts until etcd is ready.
    const downgrade = blocked ? undefined : await reconcileDowngrade({ cluster, admin, etcd: trusted, members: observation.members, writer: this.deps.writer, log: ctx.log, now, checked: this.downgradeChecks });
    const step: MembershipStep = blocked || heldByDowngrade(planned, downgrade) ? { kind: 'none' } : planned;
    seen.step = blocked ? planned : step;
    // Before acting: a member this step removes no longer counts toward the budget.
    // The membership ConfigMap as last written: a step announces nothing it already holds.
    let membershipConfig = this.deps.cache.get('ConfigMap', ref.namespace, names.membershipConfig(ref)) as V1ConfigMap | undefined;
    if (!paused) {
      await this.applyIfChanged([buildPodDisruptionBudget(cluster, budgetVoters(trusted, step))], ctx.signal);
      membershipConfig = await this.syncMembershipConfig(cluster, membershipConfig, trusted, records, learners, step);
      await actEmptyData(planEmptyData(kube.pods, trusted), { cluster, ref, writer: this.deps.writer, log: ctx.log, now, signal: ctx.signal });
    }
    // Paused, or without the CA the template cannot be built as it must be: leave the StatefulSet
    // alone, or a spec change would reach pods recreated while the cluster is meant to be frozen.
    // Awaiting the user's decision changes nothing either.
    if (!blocked && templateChanged && !live?.metadata?.deletionTimestamp && step.kind !== 'scaleStatefulSet' && step.kind !== 'createStatefulSet' && step.kind !== 'awaitDecision') {
      await this.deps.writer.apply(desiredSts!, ctx.signal);
      crashpoint('after-template-apply');
    }
    const outcome = await act(step, { cluster, ref, domain: this.deps.clusterDomain, memberInitImage: initImage, refuseEmptyData, writer: this.deps.writer, admin, records, learners, ordinals: memberOrdinals(trusted), membershipConfig, trustBundleHash, live, log: ctx.log, now });
    // A change etcd refused for now is asked again every 250 ms: at debug, so info shows each step once.
    if (step.kind !== 'none' && step.kind !== 'wait' && step.kind !== 'awaitDecision') ctx.log[outcome === 'notReady' ? 'debug' : 'info']('membership step', { step, outcome });
    await this.warnOfDecision(key, cluster, planned, ctx, now);
    // Storage grows only when membership has nothing to do; a refusal is said on every pass.
    const storage = await this.planStorage(cluster, kube, !blocked && step.kind === 'none', ctx);
    const grown = await actStorage(storage, { cluster, ref, writer: this.deps.writer, statefulSetUid: live?.metadata?.uid, log: ctx.log, now, signal: ctx.signal });
    const storageNote = describeStorage(storage, ref);
    const refused = storage.kind === 'refuse' && storageNote ? [storageNote] : [];
    // Upkeep (defragmentation, NOSPACE) runs last, on a cluster with nothing else to do.
    const idle = !blocked && step.kind === 'none' && !templatePending && storage.kind === 'none';
    const upkeep = await this.upkeep.pass({ key, cluster, ref, admin, etcd: trusted, idle, writer: this.deps.writer, log: ctx.log, now });

    if (refusal) refused.push(refusal);
    const schedule = scheduleProblem(cluster.spec.backup, now);
    // With members answering, a pod that cannot run etcd shows as that member's problem; with none
    // (a cluster bootstrapping on an image it cannot pull, say) Degraded names the pods.
    const pods = podNotices(kube.pods, now);
    const problems = [...certs.problems, ...learnerProblems(ref, learners), ...refused, ...(schedule ? [schedule] : []), ...upkeep.problems, ...(recovery.problem ? [recovery.problem] : []), ...(etcd ? [] : pods)];
    // A refused option holds every step: Progressing says so instead of the step it holds.
    const shownStep = refusal ? undefined : blocked ? planned : step;
    const computed = computeStatus({ cluster, ref, etcd, refused: unverified, step: shownStep, problems, storage: refused.length ? undefined : storageNote, caSecretName: certs.caSecretName, clusterDomain: this.deps.clusterDomain, now, progress: refusal ?? downgrade?.progress ?? certs.progress ?? upkeep.progress, backup: this.backupStatus(cluster, now), recovery: recovery.status });
    // A refused size is not carried out: observedGeneration stays at the last generation that was.
    const status = refused.length ? { ...computed, observedGeneration: cluster.status?.observedGeneration } : computed;
    await this.warnOnQuorumLoss(cluster, status, now, ctx);
    if (!sameJson(status, cluster.status ?? {})) await this.deps.writer.patchStatus(cluster, status, ctx.signal);
    await this.sendNotices(key, cluster, [...certs.problems, ...refused, ...(schedule ? [schedule] : []), ...upkeep.problems, ...(recovery.problem ? [recovery.problem] : []), ...pods, ...refusalNotices(etcd, unverified)], now);
    this.deps.metrics?.reconciled(ref, now);
    const storageRequeue = grown === 'acted' ? 500 : storage.kind === 'wait' ? 2_000 : Infinity;
    return { requeueAfterMs: Math.min(storageRequeue, upkeep.requeueAfterMs, downgrade?.requeueAfterMs ?? Infinity, guardLookAfterMs(etcd, kube, now), podLookAfterMs(kube.pods, now), requeueAfter(step, outcome, certs.nextRenewalAt, now, settled(status, cluster.status?.lastRevision, trusted, cluster.spec.replicas))) };
  }

  /** The status of a cluster whose restore runs or stopped: no member, no change of etcd. */
  private async holdForRestore(key: string, cluster: EtcdCluster, certs: CertificateOutcome, restore: RestoreOutcome, ctx: PassContext, now: Date): Promise<Result> {
    const problems = [...certs.problems, ...(restore.problem ? [restore.problem] : [])];
    const status = computeStatus({ cluster, ref: clusterRef(cluster), etcd: undefined, step: undefined, problems, caSecretName: certs.caSecretName, clusterDomain: this.deps.clusterDomain, now, progress: restore.progress });
    if (!sameJson(status, cluster.status ?? {})) await this.deps.writer.patchStatus(cluster, status, ctx.signal);
    await this.sendNotices(key, cluster, problems, now);
    return { requeueAfterMs: restore.requeueAfterMs };
  }

  /** The status of a cluster whose consented recovery runs: no membership change, no upkeep. */
  private async holdForRecovery(key: string, cluster: EtcdCluster, certs: CertificateOutcome, etcd: EtcdView | undefined, recovery: RecoveryOutcome, ctx: PassContext, now: Date): Promise<Result> {
    const problems = [...certs.problems, ...(recovery.problem ? [recovery.problem] : [])];
    const computed = computeStatus({ cluster, ref: clusterRef(cluster), etcd, step: undefined, problems, caSecretName: certs.caSecretName, clusterDomain: this.deps.clusterDomain, now, progress: recovery.progress, backup: this.backupStatus(cluster, now), recovery: recovery.status });
    // The cluster ID latch moves only as a recovery from a backup ends, to the restored cluster's.
    const status = recovery.latchClusterId ? computed : { ...computed, clusterID: cluster.status?.clusterID };
    if (!sameJson(status, cluster.status ?? {})) await this.deps.writer.patchStatus(cluster, status, ctx.signal);
    await this.sendNotices(key, cluster, problems, now);
    return { requeueAfterMs: recovery.requeueAfterMs };
  }

  /** status.backup, from the cluster's EtcdBackups as the backup controller's cache holds them. */
  private backupStatus(cluster: EtcdCluster, now: Date) {
    const backups = this.deps.backups?.(cluster.metadata.namespace!) ?? [];
    return clusterBackupStatus(cluster, backups, now);
  }

  /** The next storage step; the classes are read only when a claim must grow. */
  private async planStorage(cluster: EtcdCluster, kube: KubeView, membershipIdle: boolean, ctx: PassContext): Promise<StorageStep> {
    const observed = storageObservation(cluster, kube, membershipIdle);
    return planStorage({ ...observed, classes: await readClasses(this.deps.kc, observed, ctx.signal) });
  }

  /**
   * A pass that threw still tells the truth: status rebuilt from what it observed, Degraded with
   * why it failed, and a Warning event (deduplicated with the other notices). observedGeneration
   * stays where it was, since this generation's spec was not carried out.
   */
  private async reportFailure(key: string, cluster: EtcdCluster, seen: Seen, err: unknown, ctx: PassContext): Promise<void> {
    const failure = describeFailure(err);
    if (!failure || ctx.signal.aborted) return;
    const ref = clusterRef(cluster);
    const now = new Date(this.deps.clock.now());
    const certProblems = seen.certs?.problems ?? [];
    const problems = [failure, ...certProblems, ...(seen.learners ? learnerProblems(ref, seen.learners) : [])];
    const caSecretName = seen.certs?.caSecretName ?? cluster.status?.caSecretName ?? '';
    const status = { ...computeStatus({ cluster, ref, etcd: seen.etcd, refused: seen.refused, step: seen.step, problems, caSecretName, clusterDomain: this.deps.clusterDomain, now, backup: this.backupStatus(cluster, now) }), observedGeneration: cluster.status?.observedGeneration };
    try {
      if (!sameJson(status, cluster.status ?? {})) await this.deps.writer.patchStatus(cluster, status, ctx.signal);
      await this.sendNotices(key, cluster, [failure, ...certProblems, ...refusalNotices(seen.etcd, seen.refused)], now, true);
    } catch (reportErr) {
      ctx.log.warn('could not report the failed pass', { error: String(reportErr) });
    }
  }

  /** Warning events for the problems a person must act on, and a note that the cluster is paused. `partial`: see NoticeMemo.due. */
  private async sendNotices(key: string, cluster: EtcdCluster, problems: { reason: string; message: string; key?: string }[], now: Date, partial = false): Promise<void> {
    const current: Notice[] = problems.map((p) => ({ type: 'Warning', ...p }));
    if (cluster.spec.paused) current.push({ type: 'Normal', reason: R.paused, message: 'spec.paused is true: no membership change, and no certificate issued or renewed, until it is false' });
    for (const n of this.notices.due(key, current, now.getTime(), partial)) {
      await this.deps.writer.event(cluster, n.type, n.reason, n.message, now);
      this.notices.record(key, n, now.getTime());
    }
  }

  /** One Warning event per decision the operator waits for, whatever else blocks the cluster. */
  private async warnOfDecision(key: string, cluster: EtcdCluster, planned: MembershipStep, ctx: PassContext, now: Date): Promise<void> {
    const decision = planned.kind === 'awaitDecision' ? planned.decision : undefined;
    if (!this.warnings.due(key, decision) || !decision) return;
    const { reason, message } = describeDecision(decision, clusterRef(cluster));
    ctx.log.warn(message, { event: reason });
    await this.deps.writer.event(cluster, 'Warning', reason, message, now);
    this.warnings.markSent(key, decision);
  }

  /** Metrics of what this pass saw, and one log line per member whose health flipped. */
  private recordHealth(cluster: EtcdCluster, ref: ClusterRef, etcd: EtcdView | undefined, refused: RefusedEndpoint[], ctx: PassContext, now: Date): void {
    const secret = (name: string) => this.deps.cache.get('Secret', ref.namespace, name) as V1Secret | undefined;
    const transitions = this.deps.metrics?.record(snapshotOf(cluster, ref, etcd, secret, now, refused)) ?? [];
    for (const t of transitions) ctx.log.info(t.healthy ? 'member became healthy' : 'member became unhealthy', { member: t.member, healthy: t.healthy, problem: t.problem });
  }

  /**
   * A Warning event once, when a cluster that formed loses its quorum. Sent before the status is
   * patched, so a failed patch repeats the event rather than losing it.
   */
  private async warnOnQuorumLoss(cluster: EtcdCluster, status: EtcdClusterStatus, now: Date, ctx: PassContext): Promise<void> {
    const formed = (cluster.status?.clusterID ?? '') !== '';
    const loss = quorumLossEvent(cluster.status?.conditions, status.conditions ?? [], formed);
    if (!loss) return;
    ctx.log.warn('quorum lost', { message: loss.message });
    await this.deps.writer.event(cluster, 'Warning', loss.reason, loss.message, now);
  }

  /**
   * The membership ConfigMap: at bootstrap the initial members with state `new`; once members
   * answer, the current membership with state `existing` and the volume records. Unknown
   * membership leaves it as it is.
   */
  private async syncMembershipConfig(cluster: EtcdCluster, live: V1ConfigMap | undefined, etcd: EtcdView | undefined, records: Record<string, string>, learners: LearnerRecords, step: MembershipStep): Promise<V1ConfigMap | undefined> {
    let desired;
    // Only a list a quorum served is the membership: one member's own copy may lag.
    if (etcd?.quorumConfirmed) {
      desired = buildMembershipConfig(cluster, { state: 'existing', ordinals: announcedOrdinals(memberOrdinals(etcd), step), memberVolumes: records, ...learners });
    } else if (step.kind === 'createStatefulSet' && step.bootstrap) {
      desired = buildMembershipConfig(cluster, { state: 'new', ordinals: Array.from({ length: step.replicas }, (_, i) => i), memberVolumes: {} });
    }
    return desired && !membershipUnchanged(desired, live) ? this.deps.writer.apply(desired) : live;
  }

  private async applyIfChanged(objects: { metadata?: { name?: string; namespace?: string }; kind?: string }[], signal?: AbortSignal): Promise<void> {
    for (const obj of objects) {
      const kind = obj.kind as 'Service' | 'PodDisruptionBudget' | 'ConfigMap';
      const live = this.deps.cache.get(kind, obj.metadata!.namespace!, obj.metadata!.name!);
      const desired = stamped(obj);
      if (!live || !isSubset(desired, live)) await this.deps.writer.apply(desired as never, signal);
    }
  }
}
