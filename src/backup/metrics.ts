/**
 * Backup metrics, per cluster: when the last backup succeeded and when one last failed for good
 * (what the alerts on stale and failing backups read), how long it took and how big it was,
 * failures by reason, and the schedule's longest interval, so that "too old" is judged against
 * the cluster's own schedule rather than a fixed guess. Recorded once per outcome.
 */
import client from 'prom-client';
import type { ClusterRef } from '../resources/names.js';
import type { BackupResult } from './plan.js';

export class BackupMetrics {
  private readonly lastSuccess: client.Gauge;
  private readonly lastFailure: client.Gauge;
  private readonly duration: client.Gauge;
  private readonly size: client.Gauge;
  private readonly failures: client.Counter;
  private readonly interval: client.Gauge;
  private readonly since: client.Gauge;
  /** Newest outcome recorded per cluster: older backups seen later (a relist) do not move it back. */
  private readonly newest = new Map<string, number>();
  private readonly newestFailure = new Map<string, number>();

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

  /**
   * A success, from the pass that saw it or from a finished backup's status (after a restart the
   * gauges are rebuilt from the EtcdBackups every relist brings back).
   */
  succeeded(ref: ClusterRef, result: Pick<BackupResult, 'durationMs' | 'sizeBytes'>, atMs: number): void {
    const labels = { namespace: ref.namespace, cluster: ref.name };
    const key = `${ref.namespace}/${ref.name}`;
    if ((this.newest.get(key) ?? -Infinity) >= atMs) return;
    this.newest.set(key, atMs);
    this.lastSuccess.set(labels, atMs / 1000);
    this.duration.set(labels, result.durationMs / 1000);
    this.size.set(labels, result.sizeBytes);
  }

  /** An attempt that failed, retried or not. */
  failed(ref: ClusterRef, reason: string): void {
    this.failures.inc({ namespace: ref.namespace, cluster: ref.name, reason });
  }

  /** A backup that failed for good, also from a Failed backup's status after a restart. */
  finallyFailed(ref: ClusterRef, atMs: number): void {
    const key = `${ref.namespace}/${ref.name}`;
    if ((this.newestFailure.get(key) ?? -Infinity) >= atMs) return;
    this.newestFailure.set(key, atMs);
    this.lastFailure.set({ namespace: ref.namespace, cluster: ref.name }, atMs / 1000);
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
