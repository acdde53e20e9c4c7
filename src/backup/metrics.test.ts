import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { ClusterCache } from '../runtime/cache.js';
import type { PassContext } from '../runtime/reconciler.js';
import { Store } from '../runtime/store.js';
import { createLogger } from '../telemetry/logger.js';
import { BackupMetrics, newestOutcomes } from './metrics.js';
import { ScheduleReconciler } from './schedule.js';

const iso = (s: number) => new Date(s * 1000).toISOString();
function backup(name: string, phase: 'Succeeded' | 'Failed' | 'Running', endS?: number, cluster = 'db'): EtcdBackup {
  return {
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name, namespace: 'ns', resourceVersion: '1' },
    spec: { clusterName: cluster, destination: { s3: { bucket: 'b', endpoint: 'http://s3', credentialsSecret: 'c' } } },
    status: { phase, ...(endS !== undefined ? { startTime: iso(endS - 2), completionTime: iso(endS) } : {}), ...(phase === 'Succeeded' ? { sizeBytes: endS! * 10 } : {}) },
  } as unknown as EtcdBackup;
}

describe('newestOutcomes', () => {
  it('takes the newest success and the newest final failure of the cluster, by completion time, in any order', () => {
    const list = [backup('s2', 'Succeeded', 20), backup('f3', 'Failed', 30), backup('s1', 'Succeeded', 10), backup('f1', 'Failed', 5), backup('run', 'Running'), backup('other', 'Failed', 99, 'other')];
    const db = { metadata: { name: 'db', namespace: 'ns' }, spec: {} } as unknown as EtcdCluster;
    expect(newestOutcomes(db, list)).toEqual({ success: { atMs: 20_000, durationMs: 2_000, sizeBytes: 200 }, failureAtMs: 30_000 });
    expect(newestOutcomes(db, [])).toEqual({});
    // An earlier cluster of the name's newer outcomes are not this one's.
    const earlier = (b: EtcdBackup): EtcdBackup => ({ ...b, status: { ...b.status, clusterUID: 'earlier' } });
    const mine = { ...db, metadata: { ...db.metadata, uid: 'mine' } } as EtcdCluster;
    expect(newestOutcomes(mine, [...list, earlier(backup('s9', 'Succeeded', 90)), earlier(backup('f9', 'Failed', 95))])).toEqual({ success: { atMs: 20_000, durationMs: 2_000, sizeBytes: 200 }, failureAtMs: 30_000 });
  });
});

describe('BackupMetrics', () => {
  it('counts failures by reason', async () => {
    const registry = new client.Registry();
    const metrics = new BackupMetrics(registry);
    metrics.failed({ namespace: 'ns', name: 'db' }, 'BucketNotFound');
    expect(await registry.metrics()).toContain('etcd_operator_backup_failures_total{namespace="ns",cluster="db",reason="BucketNotFound"} 1');
  });

  it('keeps the schedule only while one is active', async () => {
    const registry = new client.Registry();
    const metrics = new BackupMetrics(registry);
    const ref = { namespace: 'ns', name: 'db' };
    metrics.schedule(ref, { intervalMs: 3_600_000, sinceMs: 5_000 });
    let text = await registry.metrics();
    expect(text).toContain('etcd_operator_backup_schedule_interval_seconds{namespace="ns",cluster="db"} 3600');
    expect(text).toContain('etcd_operator_backup_schedule_since_timestamp_seconds{namespace="ns",cluster="db"} 5');
    metrics.schedule(ref, undefined);
    text = await registry.metrics();
    expect(text).not.toContain('etcd_operator_backup_schedule_interval_seconds{');
    expect(text).not.toContain('etcd_operator_backup_schedule_since_timestamp_seconds{');
  });
});

describe('backup series follow the EtcdBackups and the EtcdCluster (schedule pass)', () => {
  const log = createLogger('error');
  const ctx: PassContext = { log, passId: 't', signal: new AbortController().signal };
  const cluster = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'db', namespace: 'ns', creationTimestamp: iso(1) }, spec: { replicas: 3 } } as unknown as EtcdCluster;

  it('a later success, a deleted backup and a deleted cluster each change the series at the next pass', async () => {
    const registry = new client.Registry();
    const metrics = new BackupMetrics(registry);
    const store = new Store<EtcdBackup>();
    let live: EtcdCluster | undefined = cluster;
    const cache = { get: () => live, list: () => [] } as unknown as ClusterCache;
    const schedules = new ScheduleReconciler({ kc: undefined as never, cache, backups: () => store, clock: { now: () => 100_000, schedule: () => () => undefined }, metrics });
    const series = async () => (await registry.metrics()).split('\n').filter((l) => /^etcd_operator_backup_\w+\{/.test(l)).sort();

    store.upsert(backup('s1', 'Succeeded', 10));
    store.upsert(backup('f2', 'Failed', 20));
    metrics.failed({ namespace: 'ns', name: 'db' }, 'BucketNotFound');
    await schedules.reconcile('ns/db', ctx);
    expect(await series()).toContain('etcd_operator_backup_last_failure_timestamp_seconds{namespace="ns",cluster="db"} 20');
    expect(await series()).toContain('etcd_operator_backup_last_success_timestamp_seconds{namespace="ns",cluster="db"} 10');

    // A later success: the success is newer than the failure, which is what EtcdBackupFailing reads.
    store.upsert(backup('s3', 'Succeeded', 30));
    await schedules.reconcile('ns/db', ctx);
    expect(await series()).toContain('etcd_operator_backup_last_success_timestamp_seconds{namespace="ns",cluster="db"} 30');

    // The failed backup deleted: its failure goes with it.
    store.remove(backup('f2', 'Failed', 20));
    await schedules.reconcile('ns/db', ctx);
    expect((await series()).filter((l) => l.includes('last_failure'))).toEqual([]);

    // The cluster deleted: no series of it remains.
    live = undefined;
    await schedules.reconcile('ns/db', ctx);
    expect(await series()).toEqual([]);
  });
});
