/**
 * Scheduled backups: a pass per EtcdCluster with `spec.backup`. It creates the EtcdBackup of the
 * newest schedule slot not backed up yet (missed slots are skipped, as a CronJob skips them), and
 * applies retention to the backups the schedule created, each deleted after the object it wrote.
 * The EtcdBackup controller does the backing up; this only decides when and what to keep.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { apiVersion, backupNames } from '../api/group.js';
import { parseDuration } from '../api/duration.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { ClusterCache } from '../runtime/cache.js';
import type { Clock } from '../runtime/clock.js';
import { splitKey } from '../runtime/kinds.js';
import type { PassContext, Reconciler, Result } from '../runtime/reconciler.js';
import type { Store } from '../runtime/store.js';
import { type ClusterRef, backupSlotAnnotation, labelKeys, scheduledBackupLabels, scheduledBackupName } from '../resources/names.js';
import { type Cron, latestFire, longestIntervalMs, nextFire, parseCron } from './cron.js';
import { BackupInputError, backupEvent, createBackup, deleteBackup, patchBackupStatus, readCa, readCredentials } from './kube.js';
import { type BackupMetrics, newestOutcomes } from './metrics.js';
import { backupOfCluster } from './origin.js';
import { type RetainedBackup, planRetention } from './retention.js';
import { type BackupFailure, backupReasons } from './reasons.js';
import { classifyUploadError, deleteObject, s3Client } from './s3.js';

export interface SchedulePlan {
  /** The slot to create a backup for now, if one is due. */
  create: Date | undefined;
  remove: RetainedBackup[];
  /** Look again at the next slot. */
  requeueAfterMs: number | undefined;
}

export interface ScheduleInput {
  cron: Cron;
  suspend: boolean;
  /** The newest slot already backed up, else when the schedule began (cluster creation). */
  since: Date;
  backups: RetainedBackup[];
  keepLast?: number;
  maxAgeMs?: number;
  now: Date;
}

export function planSchedule(i: ScheduleInput): SchedulePlan {
  const due = i.suspend ? undefined : latestFire(i.cron, i.since, i.now);
  const next = nextFire(i.cron, i.now);
  return {
    create: due,
    remove: planRetention(i.backups, { keepLast: i.keepLast, maxAgeMs: i.maxAgeMs }, i.now),
    requeueAfterMs: next ? Math.max(1_000, next.getTime() - i.now.getTime()) : undefined,
  };
}

export interface ScheduleDeps {
  kc: KubeConfig;
  cache: ClusterCache;
  backups: (namespace: string) => Store<EtcdBackup>;
  clock: Clock;
  /** The schedule's interval and the newest outcomes, for the alerts on stale and failing backups. */
  metrics?: BackupMetrics;
}

const slotOf = (b: EtcdBackup): Date | undefined => {
  const text = b.metadata.annotations?.[backupSlotAnnotation];
  return text ? new Date(text) : undefined;
};

export class ScheduleReconciler implements Reconciler {
  /** The last invalid schedule logged per cluster, so each is reported once, not every pass. */
  private readonly invalid = new Map<string, string>();

  constructor(private readonly deps: ScheduleDeps) {}

  async reconcile(key: string, ctx: PassContext): Promise<Result> {
    const { namespace, name } = splitKey(key);
    const cluster = this.deps.cache.get('EtcdCluster', namespace, name) as EtcdCluster | undefined;
    const spec = cluster?.spec.backup;
    const ref = { namespace, name };
    const cron = spec ? parseCron(spec.schedule) : undefined;
    this.recordMetrics(ref, cluster, cron);
    if (!cluster || cluster.metadata.deletionTimestamp || !spec || !cron) return {};
    if ('error' in cron) {
      if (this.invalid.get(key) !== spec.schedule) ctx.log.error('invalid backup schedule', { error: cron.error });
      this.invalid.set(key, spec.schedule);
      return {};
    }
    // An earlier cluster of this name's scheduled backups are not this schedule's to prune: they
    // may be the only copy of that cluster's data (origin.ts).
    const ours = this.deps.backups(namespace).list(namespace).filter((b) => b.metadata.labels?.[labelKeys.component] === 'scheduled-backup' && b.metadata.labels?.[labelKeys.instance] === name && backupOfCluster(b, cluster));
    const slots = ours.map(slotOf).filter((s): s is Date => s !== undefined);
    const since = slots.length > 0 ? new Date(Math.max(...slots.map((s) => s.getTime()))) : new Date(cluster.metadata.creationTimestamp ?? this.deps.clock.now());
    const inUse = backupsInUse(this.deps.cache.list('EtcdCluster', namespace) as EtcdCluster[]);
    const retained = ours.flatMap((b): RetainedBackup[] => {
      const slot = slotOf(b);
      const phase = b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b.status.phase : undefined;
      return slot ? [{ name: b.metadata.name!, phase, slot, key: b.status?.key, inUse: inUse.has(b.metadata.name!) }] : [];
    });
    const retention = spec.retention;
    const plan = planSchedule({ cron, suspend: spec.suspend, since, backups: retained, keepLast: retention?.keepLast, maxAgeMs: retention?.maxAge ? parseDuration(retention.maxAge) : undefined, now: new Date(this.deps.clock.now()) });
    if (plan.create) {
      const created = await createBackup(this.deps.kc, this.scheduled(cluster, ref, plan.create), ctx.signal);
      if (created) ctx.log.info('scheduled backup created', { slot: plan.create.toISOString(), backup: scheduledBackupName(ref, plan.create) });
    }
    // A backup retention cannot delete is kept and said so; the schedule goes on (a failed pass
    // would wait out the queue's backoff, up to minutes, and miss slots).
    let blocked = false;
    // Others with a destination that just failed would most likely wait out the same timeouts, on
    // the one schedule worker: they wait for the retry.
    const failedDestinations = new Set<string>();
    const destinationOf = (b: EtcdBackup) => JSON.stringify([b.spec.destination.endpoint, b.spec.destination.credentialsSecretRef.name]);
    for (const old of plan.remove) {
      const backup = ours.find((b) => b.metadata.name === old.name)!;
      if (failedDestinations.has(destinationOf(backup))) continue;
      const failure = await this.remove(backup, ctx);
      if (failure) {
        blocked = true;
        failedDestinations.add(destinationOf(backup));
        await this.reportBlocked(backup, failure, ctx);
      }
    }
    const after = blocked ? Math.min(plan.requeueAfterMs ?? retentionRetryMs, retentionRetryMs) : plan.requeueAfterMs;
    return after ? { requeueAfterMs: after } : {};
  }

  /**
   * The schedule's longest interval (no series for a schedule that takes no backups: Degraded says
   * why) and the newest outcomes of the cluster's EtcdBackups; a cluster that is gone, no series.
   */
  private recordMetrics(ref: ClusterRef, cluster: EtcdCluster | undefined, cron: Cron | { error: string } | undefined): void {
    if (!cluster || cluster.metadata.deletionTimestamp) return this.deps.metrics?.forget(ref);
    this.deps.metrics?.outcomes(ref, newestOutcomes(cluster, this.deps.backups(ref.namespace).list(ref.namespace)));
    const now = this.deps.clock.now();
    const active = cron && !('error' in cron) && !cluster.spec.backup?.suspend;
    const intervalMs = active ? longestIntervalMs(cron, new Date(now)) : undefined;
    const sinceMs = new Date(cluster.metadata.creationTimestamp ?? now).getTime();
    this.deps.metrics?.schedule(ref, intervalMs !== undefined ? { intervalMs, sinceMs } : undefined);
  }

  private scheduled(cluster: EtcdCluster, ref: ClusterRef, slot: Date): EtcdBackup {
    const spec = cluster.spec.backup!;
    return {
      apiVersion,
      kind: backupNames.kind,
      metadata: { name: scheduledBackupName(ref, slot), namespace: ref.namespace, labels: scheduledBackupLabels(ref), annotations: { [backupSlotAnnotation]: slot.toISOString() } },
      spec: { clusterName: ref.name, destination: spec.destination, compression: spec.compression },
    };
  }

  /**
   * The object first, then the record: a failure in between leaves the record to try again. An
   * object that could not be deleted (a Secret gone, the store down or refusing) is returned.
   */
  private async remove(backup: EtcdBackup, ctx: PassContext): Promise<BackupFailure | undefined> {
    const { bucket, key } = backup.status ?? {};
    if (bucket && key) {
      // The store's own client gives up on a silent connection only after 2 x its socket timeout:
      // this pass holds the one schedule worker that every cluster's slots wait on, so it has its own deadline.
      const deadline = AbortSignal.timeout(retentionCallTimeoutMs);
      try {
        const [credentials, ca] = await Promise.all([readCredentials(this.deps.kc, backup, ctx.signal), readCa(this.deps.kc, backup, ctx.signal)]);
        const client = s3Client(backup.spec.destination, credentials, ca);
        try {
          await deleteObject(client, bucket, key, AbortSignal.any([ctx.signal, deadline]));
        } finally {
          client.destroy();
        }
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        return retentionFailure(deadline.aborted ? new RetentionTimeout(backup.spec.destination.endpoint) : err, backup);
      }
    }
    await deleteBackup(this.deps.kc, backup, ctx.signal);
    ctx.log.info('scheduled backup removed by retention', { backup: backup.metadata.name, key });
    return undefined;
  }

  /** A RetentionBlocked condition on the backup kept, and a Warning event, once per message. */
  private async reportBlocked(backup: EtcdBackup, failure: BackupFailure, ctx: PassContext): Promise<void> {
    const previous = backup.status?.conditions ?? [];
    if (previous.some((c) => c.type === retentionBlocked && c.message === failure.message)) return;
    ctx.log.warn('retention could not delete a backup', { backup: backup.metadata.name, reason: failure.reason, error: failure.message });
    const now = new Date(this.deps.clock.now());
    const condition = { type: retentionBlocked, status: 'True' as const, reason: failure.reason, message: failure.message, observedGeneration: backup.metadata.generation, lastTransitionTime: now.toISOString() };
    await patchBackupStatus(this.deps.kc, backup, { ...backup.status, conditions: [...previous.filter((c) => c.type !== retentionBlocked), condition] }, ctx.signal);
    await backupEvent(this.deps.kc, backup, 'Warning', failure.reason, failure.message, now);
  }
}

/**
 * The EtcdBackups of a namespace that a restore or a consented recovery reads from and that has
 * not finished: a restore until its cluster formed (a cluster ID latched), a recovery while it
 * is asked for or runs. Pure.
 */
export function backupsInUse(clusters: EtcdCluster[]): Set<string> {
  const names = new Set<string>();
  for (const c of clusters) {
    const restoring = c.spec.restore?.backupName && !c.status?.clusterID;
    if (restoring) names.add(c.spec.restore!.backupName!);
    const asked = c.spec.recovery?.fromBackup?.backupName;
    if (asked) names.add(asked);
    const record = c.status?.recovery;
    const running = record?.consent?.fromBackup?.backupName;
    if (running && record.phase !== 'Succeeded' && record.phase !== 'Ignored') names.add(running);
  }
  return names;
}

/** Condition on a scheduled backup that retention would delete and cannot: why it is still here. */
export const retentionBlocked = 'RetentionBlocked';

/** How long retention waits for the store to delete one object. */
export const retentionCallTimeoutMs = 20_000;

/** The store accepted the connection but did not answer in time (a stopped process, a hung disk). */
class RetentionTimeout extends Error {
  constructor(endpoint: string) {
    super(`${endpoint} did not answer within ${retentionCallTimeoutMs / 1000} s`);
    this.name = 'RetentionTimeout';
  }
}

/** Pause before retention tries again: the store or a Secret may be back by then. */
export const retentionRetryMs = 60_000;

/** Why retention could not delete a backup's object, for its condition and Warning event. Pure. */
export function retentionFailure(err: unknown, backup: EtcdBackup): BackupFailure {
  const { endpoint } = backup.spec.destination;
  const bucket = backup.status?.bucket ?? backup.spec.destination.bucket;
  const cause = err instanceof BackupInputError ? err.failure : err instanceof RetentionTimeout ? { reason: backupReasons.endpointUnreachable, message: err.message, retryable: true } : classifyUploadError(err, endpoint, bucket);
  // The causes' advice ends with creating a new EtcdBackup; retention needs only the cause fixed.
  const advice = cause.message.replace(/, then create a new EtcdBackup$/, '');
  const message = `retention could not delete s3://${bucket}/${backup.status?.key ?? ''}: ${advice}. The backup and its object are kept; retention tries again every ${retentionRetryMs / 1000} s`;
  return { reason: cause.reason, message, retryable: true };
}
