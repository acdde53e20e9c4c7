import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BackupMetrics } from './metrics.js';

describe('BackupMetrics', () => {
  it('keeps the newest success per cluster, whatever order backups are seen in', async () => {
    const registry = new client.Registry();
    const metrics = new BackupMetrics(registry);
    const ref = { namespace: 'ns', name: 'db' };
    metrics.succeeded(ref, { sizeBytes: 200, durationMs: 2_000 }, 20_000);
    metrics.succeeded(ref, { sizeBytes: 100, durationMs: 1_000 }, 10_000);
    metrics.failed(ref, 'BucketNotFound');
    const text = await registry.metrics();
    expect(text).toContain('etcd_operator_backup_last_success_timestamp_seconds{namespace="ns",cluster="db"} 20');
    expect(text).toContain('etcd_operator_backup_last_size_bytes{namespace="ns",cluster="db"} 200');
    expect(text).toContain('etcd_operator_backup_last_duration_seconds{namespace="ns",cluster="db"} 2');
    expect(text).toContain('etcd_operator_backup_failures_total{namespace="ns",cluster="db",reason="BucketNotFound"} 1');
  });

  it('keeps the newest final failure, and the schedule only while one is active', async () => {
    const registry = new client.Registry();
    const metrics = new BackupMetrics(registry);
    const ref = { namespace: 'ns', name: 'db' };
    metrics.finallyFailed(ref, 30_000);
    metrics.finallyFailed(ref, 10_000);
    metrics.schedule(ref, { intervalMs: 3_600_000, sinceMs: 5_000 });
    let text = await registry.metrics();
    expect(text).toContain('etcd_operator_backup_last_failure_timestamp_seconds{namespace="ns",cluster="db"} 30');
    expect(text).toContain('etcd_operator_backup_schedule_interval_seconds{namespace="ns",cluster="db"} 3600');
    expect(text).toContain('etcd_operator_backup_schedule_since_timestamp_seconds{namespace="ns",cluster="db"} 5');
    metrics.schedule(ref, undefined);
    text = await registry.metrics();
    expect(text).not.toContain('etcd_operator_backup_schedule_interval_seconds{');
    expect(text).not.toContain('etcd_operator_backup_schedule_since_timestamp_seconds{');
  });
});
