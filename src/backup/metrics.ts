/**
 * Backup metrics, per cluster: when the last backup succeeded and when one last failed for good
 * (what the alerts on stale and failing backups read), how long it took and how big it was,
 * failures by reason, and the schedule's longest interval, so that "too old" is judged against
 * the cluster's own schedule rather than a fixed guess.
 *
 * The outcome gauges are rebuilt on every schedule pass of the cluster from its EtcdBackups, the
 * source status.backup is built from: success and failure are read from one list and ordered by
 * the same completion times, a deleted EtcdBackup takes its outcome with it, and a deleted
 * EtcdCluster takes every series of its own.
 */
import client from 'prom-client';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { backupOfCluster } from './origin.js';
import type { ClusterRef } from '../resources/names.js';

/** A cluster's newest success and newest final failure, as its EtcdBackups record them. */
export interface BackupOutcomes {
  success?: { atMs: number; durationMs: number; sizeBytes: number };
  failureAtMs?: number;
}

const finishedAt = (b: EtcdBackup): number => Date.parse(b.status?.completionTime ?? '');

/** Pure: the newest Succeeded and the newest Failed backup of the cluster, by completion time. */
export function newestOutcomes(cluster: EtcdCluster, backups: readonly EtcdBackup[]): BackupOutcomes {
  const out: BackupOutcomes = {};
  for (const b of backups) {
    const at = finishedAt(b);
    if (!backupOfCluster(b, cluster) || Number.isNaN(at) || b.metadata.deletionTimestamp) continue;
    const { phase, startTime, sizeBytes } = b.status ?? {};
    if (phase === 'Succeeded' && sizeBytes !== undefined && at > (out.success?.atMs ?? -Infinity)) {
      out.success = { atMs: at, sizeBytes, durationMs: startTime ? at - Date.parse(startTime) : 0 };
    }
    if (phase === 'Failed' && at > (out.failureAtMs ?? -Infinity)) out.failureAtMs = at;
  }
  return out;
}

export class BackupMetrics {
  private readonly lastSuccess: client.Gauge;
  private readonly lastFailure: client.Gauge;
  private readonly duration: client.Gauge;
  private readonly size: client.Gauge;
  private readonly failures: client.Counter;
  private readonly interval: client.Gauge;
  private readonly since: client.Gauge;
  /** Failure reasons counted per cluster, to remove their series with the cluster. */
  private readonly reasons = new Map<string, Set<string>>();

  constructor(registry: client.Registry = new client.Registry()) {
    const labelNames = ['namespace', 'cluster'];
    this.lastSuccess = new client.Gauge({ name: 'etcd_operator_backup_last_success_timestamp_seconds', help: 'When the last successful backup of the cluster completed', labelNames, registers: [registry] });
    this.lastFailure = new client.Gauge({ name: 'etcd_operator_backup_last_failure_timestamp_seconds', help: 'When the last backup of the cluster that failed for good (retries used up, or bad input) finished', labelNames, registers: [registry] });
    this.duration = new client.Gauge({ name: 'etcd_operator_backup_last_duration_seconds', help: 'How long the last successful backup took, from snapshot to uploaded object', labelNames, registers: [registry] });
    this.size = new client.Gauge({ name: 'etcd_operator_backup_last_size_bytes', help: 'Size of the object the last successful backup uploaded', labelNames, registers: [registry] });
    this.failures = new client.Counter({ name: 'etcd_operator_backup_failures_total', help: 'Backup attempts that failed, by reason', labelNames: [...labelNames, 'reason'], registers: [registry] });
    this.interval = new client.Gauge({ name: 'etcd_operator_backup_schedule_interval_seconds', help: 'Longest time between two slots of the backup schedule (absent without an active schedule)', labelNames, registers: [registry] });
    this.since = new client.Gauge({ name: 'etcd_operator_backup_schedule_since_timestamp_seconds', help: 'When backups became due: the cluster creation (absent without an active schedule)', labelNames, registers: [registry] });
  }

  /** The outcome gauges from the cluster's EtcdBackups (newestOutcomes); an outcome none records has no series. */
  outcomes(ref: ClusterRef, o: BackupOutcomes): void {
    const labels = { namespace: ref.namespace, cluster: ref.name };
    if (o.success) {
      this.lastSuccess.set(labels, o.success.atMs / 1000);
      this.duration.set(labels, o.success.durationMs / 1000);
      this.size.set(labels, o.success.sizeBytes);
    } else {
      for (const g of [this.lastSuccess, this.duration, this.size]) g.remove(labels);
    }
    if (o.failureAtMs !== undefined) this.lastFailure.set(labels, o.failureAtMs / 1000);
    else this.lastFailure.remove(labels);
  }

  /** An attempt that failed, retried or not. */
  failed(ref: ClusterRef, reason: string): void {
    const key = `${ref.namespace}/${ref.name}`;
    this.reasons.set(key, (this.reasons.get(key) ?? new Set()).add(reason));
    this.failures.inc({ namespace: ref.namespace, cluster: ref.name, reason });
  }

  /** Every series of a cluster that is gone (or being deleted). */
  forget(ref: ClusterRef): void {
    const labels = { namespace: ref.namespace, cluster: ref.name };
    this.outcomes(ref, {});
    this.schedule(ref, undefined);
    const key = `${ref.namespace}/${ref.name}`;
    for (const reason of this.reasons.get(key) ?? []) this.failures.remove({ ...labels, reason });
    this.reasons.delete(key);
  }

  /** The cluster's active schedule, or undefined when it has none (none, suspended, never fires). */
  schedule(ref: ClusterRef, active: { intervalMs: number; sinceMs: number } | undefined): void {
    const labels = { namespace: ref.namespace, cluster: ref.name };
    if (!active) {
      this.interval.remove(labels);
      this.since.remove(labels);
      return;
    }
    this.interval.set(labels, active.intervalMs / 1000);
    this.since.set(labels, active.sinceMs / 1000);
  }
}
