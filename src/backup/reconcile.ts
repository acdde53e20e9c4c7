/**
 * The EtcdBackup reconciler: observe (the backup, its cluster, etcd's health, the attempt this
 * process runs) -> plan (plan.ts, pure) -> act (start an attempt, or record an outcome) -> status.
 */
import type { KubeConfig, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { AdminPool } from '../controller/admin-pool.js';
import { sameJson } from '../controller/subset.js';
import { tlsMaterial } from '../pki/inspect.js';
import type { ClusterCache } from '../runtime/cache.js';
import type { Clock } from '../runtime/clock.js';
import { splitKey } from '../runtime/kinds.js';
import type { PassContext, Reconciler, Result } from '../runtime/reconciler.js';
import type { Store } from '../runtime/store.js';
import { type ClusterRef, memberHost, memberOrdinal, memberSelector, names, ports } from '../resources/names.js';
import { runAttempt } from './attempt.js';
import type { Attempts } from './attempts.js';
import { backupEvent, patchBackupStatus } from './kube.js';
import type { BackupMetrics } from './metrics.js';
import { type BackupObservation, type BackupStep, planBackup } from './plan.js';
import { type MemberEndpoint, type MemberHealth, observeMembers } from './snapshot.js';
import { backupStatus } from './status.js';
import type { EtcdTls } from '../etcd/types.js';

export interface BackupReconcilerDeps {
  kc: KubeConfig;
  backups: (namespace: string) => Store<EtcdBackup>;
  cache: ClusterCache;
  admins: AdminPool;
  attempts: Attempts;
  clock: Clock;
  clusterDomain: string;
  callTimeoutMs: number;
  enqueue: (key: string) => void;
  metrics: BackupMetrics;
}

interface ClusterView {
  state: BackupObservation['cluster'];
  /** metadata.uid of the EtcdCluster of that name; undefined when missing or being deleted. */
  uid: string | undefined;
  ref: ClusterRef;
  tls?: EtcdTls;
  endpoints: MemberEndpoint[];
  memberNames: Map<string, string>;
}

const final = (phase: string | undefined) => phase === 'Succeeded' || phase === 'Failed';

export class BackupReconciler implements Reconciler {
  constructor(private readonly deps: BackupReconcilerDeps) {}

  async reconcile(key: string, ctx: PassContext): Promise<Result> {
    const { namespace, name } = splitKey(key);
    const backup = this.deps.backups(namespace).get(namespace, name);
    if (!backup || backup.metadata.deletionTimestamp) {
      this.deps.attempts.cancel(key);
      return {};
    }
    const now = this.deps.clock.now();
    const cluster = this.observeCluster(backup);
    const clusterKey = `${namespace}/${backup.spec.clusterName}`;
    const attempt = this.deps.attempts.get(key, backup.metadata.uid ?? '');
    // etcd is asked only when a new attempt might start.
    const asks = !final(backup.status?.phase) && attempt?.state !== 'running' && attempt?.state !== 'succeeded' && cluster.state === 'ready';
    const health: MemberHealth = asks ? await this.observeEtcd(clusterKey, cluster, ctx) : { quorum: 'unknown', candidates: [] };
    // Status written a moment ago may not have reached the informer yet: this process knows better.
    const attempts = Math.max(backup.status?.attempts ?? 0, attempt?.number ?? 0);
    // From reading busyWith to starting the attempt there is no await: two workers can never both
    // start an attempt for the same cluster.
    const step = planBackup({
      phase: backup.status?.phase,
      attempts,
      attempt,
      cluster: cluster.state,
      quorum: health.quorum,
      busyWith: this.deps.attempts.busyWith(clusterKey, key),
      clusterUID: cluster.uid,
      begunOn: attempt?.clusterUID ?? backup.status?.clusterUID,
      nowMs: now,
    });
    if (step.kind !== 'none' && step.kind !== 'wait') ctx.log.info('backup step', { step });
    await this.act(step, key, backup, cluster, health, attempt?.reported ?? false, ctx);
    const status = backupStatus(backup, step, new Date(now), attempt?.state === 'running' ? attempt.progress : undefined);
    if (attempt && step.kind !== 'none' && step.kind !== 'start') {
      status.attempts = attempts;
      status.startTime ??= new Date(attempt.startedAtMs).toISOString();
      status.clusterUID ??= attempt.clusterUID;
    }
    if (!sameJson(status, backup.status ?? {})) await patchBackupStatus(this.deps.kc, backup, status, ctx.signal);
    return step.kind === 'wait' || step.kind === 'retry' ? { requeueAfterMs: step.afterMs || 5_000 } : {};
  }

  private async act(step: BackupStep, key: string, backup: EtcdBackup, cluster: ClusterView, health: MemberHealth, reported: boolean, ctx: PassContext): Promise<void> {
    const now = new Date(this.deps.clock.now());
    // Events and metrics once per outcome, also when a pass runs before status caught up.
    const event = async (type: 'Normal' | 'Warning', reason: string, message: string) => {
      if (reported) return;
      this.deps.attempts.markReported(key);
      // The outcome gauges follow the status written below (the schedule pass rebuilds them).
      if (step.kind === 'fail' || step.kind === 'retry') this.deps.metrics.failed(cluster.ref, step.failure.reason);
      await backupEvent(this.deps.kc, backup, type, reason, message, now);
    };
    switch (step.kind) {
      case 'start': {
        const member = health.candidates[0]!;
        const memberName = cluster.memberNames.get(member.url) ?? member.url;
        const input = { kc: this.deps.kc, backup, clusterUID: step.clusterUID, member, memberName, tls: cluster.tls!, callTimeoutMs: this.deps.callTimeoutMs, now: () => this.deps.clock.now() };
        const of = { key: `${backup.metadata.namespace}/${backup.spec.clusterName}`, uid: step.clusterUID };
        this.deps.attempts.start(key, backup.metadata.uid ?? '', of, step.attempt, (signal, report) => runAttempt({ ...input, onProgress: report }, signal), ctx.signal, () => {
          // Logged when the attempt ends, not when a pass records it: one at a time per cluster is judged by these.
          ctx.log.info('backup attempt ended', { attempt: step.attempt });
          this.deps.enqueue(key);
        });
        await backupEvent(this.deps.kc, backup, 'Normal', 'BackupStarted', `attempt ${step.attempt}: streaming a snapshot from ${memberName}`, now);
        return;
      }
      case 'succeed':
        return event('Normal', 'BackupSucceeded', `uploaded ${step.result.sizeBytes} bytes to s3://${step.result.bucket}/${step.result.key}, revision ${step.result.revision}, sha256 ${step.result.sha256}`);
      case 'fail':
        if (step.stopAttempt) {
          ctx.log.info('backup attempt stopped', { reason: step.failure.reason });
          this.deps.attempts.stop(key, step.failure);
        }
        return event('Warning', step.failure.reason, step.failure.message);
      case 'retry':
        return event('Warning', step.failure.reason, `${step.failure.message}; trying again in ${Math.ceil(step.afterMs / 1000)} s`);
      default:
        return;
    }
  }

  /** The cluster as the cache shows it: whether it exists, has formed, and how to reach members. */
  private observeCluster(backup: EtcdBackup): ClusterView {
    const ref = { namespace: backup.metadata.namespace!, name: backup.spec.clusterName };
    const view: ClusterView = { state: 'missing', uid: undefined, ref, endpoints: [], memberNames: new Map() };
    const cluster = this.deps.cache.get('EtcdCluster', ref.namespace, ref.name) as EtcdCluster | undefined;
    if (!cluster || cluster.metadata.deletionTimestamp) return view;
    view.uid = cluster.metadata.uid;
    const secret = this.deps.cache.get('Secret', ref.namespace, names.operatorClientSecret(ref)) as V1Secret | undefined;
    view.tls = secret ? tlsMaterial(secret) : undefined;
    for (const pod of this.deps.cache.list('Pod', ref.namespace, memberSelector(ref)) as V1Pod[]) {
      const ordinal = memberOrdinal(ref, pod.metadata?.name ?? '');
      if (ordinal === undefined || !pod.status?.podIP || pod.metadata?.deletionTimestamp) continue;
      const url = `https://${pod.status.podIP}:${ports.client}`;
      view.endpoints.push({ url, serverName: memberHost(ref, ordinal, this.deps.clusterDomain) });
      view.memberNames.set(url, names.member(ref, ordinal));
    }
    // A cluster that never reported a cluster ID has not formed: there is nothing to back up yet.
    view.state = view.tls && view.endpoints.length > 0 && cluster.status?.clusterID ? 'ready' : 'forming';
    return view;
  }

  private async observeEtcd(clusterKey: string, cluster: ClusterView, ctx: PassContext): Promise<MemberHealth> {
    try {
      return await observeMembers(this.deps.admins.get(`backup:${clusterKey}`, cluster.endpoints, cluster.tls!), cluster.endpoints);
    } catch (err) {
      ctx.log.debug('etcd did not answer', { error: err instanceof Error ? err.message : String(err) });
      return { quorum: 'unknown', candidates: [] };
    }
  }
}
