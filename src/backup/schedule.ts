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
import { createBackup, deleteBackup, readCa, readCredentials } from './kube.js';
import { type BackupMetrics, newestOutcomes } from './metrics.js';
import { type RetainedBackup, planRetention } from './retention.js';
import { deleteObject, s3Client } from './s3.js';

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
    const ours = this.deps.backups(namespace).list(namespace).filter((b) => b.metadata.labels?.[labelKeys.component] === 'scheduled-backup' && b.metadata.labels?.[labelKeys.instance] === name);
    const slots = ours.map(slotOf).filter((s): s is Date => s !== undefined);
    const since = slots.length > 0 ? new Date(Math.max(...slots.map((s) => s.getTime()))) : new Date(cluster.metadata.creationTimestamp ?? this.deps.clock.now());
    const retained = ours.flatMap((b): RetainedBackup[] => {
      const slot = slotOf(b);
      const phase = b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b.status.phase : undefined;
      return slot ? [{ name: b.metadata.name!, phase, slot, key: b.status?.key }] : [];
    });
    const retention = spec.retention;
    const plan = planSchedule({ cron, suspend: spec.suspend, since, backups: retained, keepLast: retention?.keepLast, maxAgeMs: retention?.maxAge ? parseDuration(retention.maxAge) : undefined, now: new Date(this.deps.clock.now()) });
    if (plan.create) {
      const created = await createBackup(this.deps.kc, this.scheduled(cluster, ref, plan.create), ctx.signal);
      if (created) ctx.log.info('scheduled backup created', { slot: plan.create.toISOString(), backup: scheduledBackupName(ref, plan.create) });
    }
    for (const old of plan.remove) {
      const backup = ours.find((b) => b.metadata.name === old.name)!;
      await this.remove(backup, ctx);
    }
    return plan.requeueAfterMs ? { requeueAfterMs: plan.requeueAfterMs } : {};
  }

  /**
   * The schedule's longest interval (no series for a schedule that takes no backups: Degraded says
   * why) and the newest outcomes of the cluster's EtcdBackups; a cluster that is gone, no series.
   */
  private recordMetrics(ref: ClusterRef, cluster: EtcdCluster | undefined, cron: Cron | { error: string } | undefined): void {
    if (!cluster || cluster.metadata.deletionTimestamp) return this.deps.metrics?.forget(ref);
    this.deps.metrics?.outcomes(ref, newestOutcomes(ref.name, this.deps.backups(ref.namespace).list(ref.namespace)));
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

  /** The object first, then the record: a failure in between leaves the record to try again. */
  private async remove(backup: EtcdBackup, ctx: PassContext): Promise<void> {
    const { bucket, key } = backup.status ?? {};
    if (bucket && key) {
      const [credentials, ca] = await Promise.all([readCredentials(this.deps.kc, backup, ctx.signal), readCa(this.deps.kc, backup, ctx.signal)]);
      const client = s3Client(backup.spec.destination, credentials, ca);
      try {
        await deleteObject(client, bucket, key, ctx.signal);
      } finally {
        client.destroy();
      }
    }
    await deleteBackup(this.deps.kc, backup, ctx.signal);
    ctx.log.info('scheduled backup removed by retention', { backup: backup.metadata.name, key });
  }
}
