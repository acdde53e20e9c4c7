/**
 * Backup metrics, per cluster: when the last backup succeeded (what an alert on stale backups
 * reads), how long it took and how big it was, and failures by reason. Recorded once per outcome.
 */
import client from 'prom-client';
import type { ClusterRef } from '../resources/names.js';
import type { BackupResult } from './plan.js';

export class BackupMetrics {
  private readonly lastSuccess: client.Gauge;
  private readonly duration: client.Gauge;
  private readonly size: client.Gauge;
  private readonly failures: client.Counter;
  /** Newest success recorded per cluster: older backups seen later (a relist) do not move it back. */
  private readonly newest = new Map<string, number>();

  constructor(registry: client.Registry = new client.Registry()) {
    const labelNames = ['namespace', 'cluster'];
    this.lastSuccess = new client.Gauge({ name: 'etcd_operator_backup_last_success_timestamp_seconds', help: 'When the last successful backup of the cluster completed', labelNames, registers: [registry] });
    this.duration = new client.Gauge({ name: 'etcd_operator_backup_last_duration_seconds', help: 'How long the last successful backup took, from snapshot to uploaded object', labelNames, registers: [registry] });
    this.size = new client.Gauge({ name: 'etcd_operator_backup_last_size_bytes', help: 'Size of the object the last successful backup uploaded', labelNames, registers: [registry] });
    this.failures = new client.Counter({ name: 'etcd_operator_backup_failures_total', help: 'Backup attempts that failed, by reason', labelNames: [...labelNames, 'reason'], registers: [registry] });
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

  failed(ref: ClusterRef, reason: string): void {
    this.failures.inc({ namespace: ref.namespace, cluster: ref.name, reason });
  }
}
