/**
 * The EtcdBackup controller: its own informer and work queue, on the shared runtime. Keys are
 * backups (`namespace/name`); a change to an EtcdCluster queues the unfinished backups of that
 * cluster, so a backup waiting for its cluster moves as soon as the cluster does.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { backupNames, group, version } from '../api/group.js';
import { AdminPool } from '../controller/admin-pool.js';
import { createEtcdAdmin } from '../etcd/client.js';
import type { InformerCache } from '../runtime/cache.js';
import { type Clock, realClock } from '../runtime/clock.js';
import { Controller, type ControllerObserver } from '../runtime/controller.js';
import { Informer, type InformerObserver } from '../runtime/informer.js';
import { keyOf, splitKey } from '../runtime/kinds.js';
import type { QueueObserver } from '../runtime/workqueue.js';
import { defaultClusterDomain } from '../resources/names.js';
import { Attempts } from './attempts.js';
import { BackupMetrics } from './metrics.js';
import { BackupReconciler } from './reconcile.js';
import { ScheduleReconciler } from './schedule.js';

export const backupControllerName = 'etcdbackup';
export const scheduleControllerName = 'etcdbackupschedule';

export interface BackupControllerOptions {
  kc: KubeConfig;
  /** The shared cache: EtcdClusters, their pods and the operator's client certificates. */
  cache: InformerCache;
  namespaces: string[];
  log: Logger;
  clusterDomain?: string;
  workers?: number;
  etcdCallTimeoutMs?: number;
  clock?: Clock;
  informerObserver?: InformerObserver;
  /** Metrics hooks, by controller name (etcdbackup, etcdbackupschedule). */
  queueObserver?: (controller: string, queue: () => Controller['queue']) => QueueObserver;
  observer?: (controller: string) => ControllerObserver;
  /** The operator's registry, for the backup metrics. */
  registry?: Registry;
  /** The lease fence every write of a pass passes (see runtime/pass-scope.ts). */
  fence?: () => void;
  /** Queues an EtcdCluster whose backups finished or went: its status.backup is rebuilt. */
  enqueueCluster?: (clusterKey: string) => void;
}

/** What the Manager runs besides the EtcdCluster controller; see manager.ts. */
export class BackupController {
  readonly name = backupControllerName;
  readonly controller: Controller;
  /** Keyed by EtcdCluster: creates scheduled backups and applies retention. */
  readonly schedules: Controller;
  /** By watched namespace; '' when all namespaces are watched. */
  private readonly byScope = new Map<string, Informer<EtcdBackup>>();
  private readonly informers: Informer<EtcdBackup>[];
  private readonly attempts: Attempts;
  private readonly admins: AdminPool;
  private readonly cache: InformerCache;

  constructor(options: BackupControllerOptions) {
    const clock = options.clock ?? realClock;
    this.cache = options.cache;
    const callTimeoutMs = options.etcdCallTimeoutMs ?? 5_000;
    const scopes = options.namespaces.length > 0 ? options.namespaces : [''];
    this.informers = scopes.map((namespace) => {
      const informer = new Informer<EtcdBackup>({
          kc: options.kc,
          resource: { group, version, plural: backupNames.plural, kind: backupNames.kind },
          namespace: namespace || undefined,
          log: options.log,
          clock,
          observer: options.informerObserver,
        });
      this.byScope.set(namespace, informer);
      return informer;
    });
    this.attempts = new Attempts(() => clock.now());
    this.admins = new AdminPool((endpoints, tls, memory) =>
      createEtcdAdmin({ endpoints: endpoints.map((e) => e.url), serverNames: Object.fromEntries(endpoints.map((e) => [e.url, e.serverName])), tls, callTimeoutMs, memory }),
    );
    const metrics = new BackupMetrics(options.registry);
    const reconciler = new BackupReconciler({
      kc: options.kc,
      backups: (ns) => this.storeFor(ns),
      cache: options.cache,
      admins: this.admins,
      attempts: this.attempts,
      clock,
      clusterDomain: options.clusterDomain ?? defaultClusterDomain,
      callTimeoutMs,
      enqueue: (key) => this.controller.enqueue(key),
      metrics,
    });
    this.controller = new Controller({
      name: backupControllerName,
      reconciler,
      workers: options.workers ?? 2,
      log: options.log,
      clock,
      queueObserver: options.queueObserver?.(backupControllerName, () => this.controller.queue),
      observer: options.observer?.(backupControllerName),
      fence: options.fence,
    });
    this.schedules = new Controller({
      name: scheduleControllerName,
      reconciler: new ScheduleReconciler({ kc: options.kc, cache: options.cache, backups: (ns) => this.storeFor(ns), clock, metrics }),
      workers: 1,
      log: options.log,
      clock,
      queueObserver: options.queueObserver?.(scheduleControllerName, () => this.schedules.queue),
      observer: options.observer?.(scheduleControllerName),
      fence: options.fence,
    });
    for (const informer of this.informers) {
      informer.on((change, backup) => {
        this.controller.enqueue(keyOf(backup));
        // A finished scheduled backup may make an older one due for retention; any backup that
        // finished or went away changes the cluster's outcome metrics, which the schedule pass rebuilds.
        this.schedules.enqueue(`${backup.metadata.namespace}/${backup.spec.clusterName}`);
        const finished = backup.status?.phase === 'Succeeded' || backup.status?.phase === 'Failed';
        if (finished || change === 'delete') options.enqueueCluster?.(`${backup.metadata.namespace}/${backup.spec.clusterName}`);
      });
    }
    options.cache.onClusterEvent((clusterKey) => this.clusterChanged(clusterKey));
  }

  startInformers(): void {
    for (const informer of this.informers) informer.start();
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.synced));
  }

  start(): void {
    this.controller.start();
    this.schedules.start();
  }

  /** Every backup again, as the periodic resync does for clusters. */
  resync(): void {
    // Background: a resync asked for nothing now; a backup or schedule that changed goes first.
    for (const informer of this.informers) for (const backup of informer.store.list()) this.controller.enqueue(keyOf(backup), 'background');
    for (const key of this.cache.clusterKeys()) this.schedules.enqueue(key, 'background');
  }

  /** Attempts in flight are aborted: their multipart uploads are aborted, nothing partial remains. */
  async stop(graceMs: number): Promise<void> {
    this.attempts.abortAll('operator shutting down');
    await Promise.all([this.controller.stop(graceMs), this.schedules.stop(graceMs)]);
    this.admins.closeAll();
  }

  halt(reason: string): void {
    this.attempts.abortAll(reason);
    this.controller.halt(reason);
    this.schedules.halt(reason);
  }

  async stopInformers(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** The EtcdBackups of a namespace, as the informer holds them. */
  list(namespace: string): EtcdBackup[] {
    return this.storeFor(namespace).list(namespace);
  }

  private storeFor(namespace: string) {
    const informer = this.byScope.get('') ?? this.byScope.get(namespace);
    if (!informer) throw new Error(`namespace ${namespace} is not watched`);
    return informer.store;
  }

  private clusterChanged(clusterKey: string): void {
    this.schedules.enqueue(clusterKey);
    const { namespace, name } = splitKey(clusterKey);
    for (const backup of this.storeFor(namespace).list(namespace)) {
      const phase = backup.status?.phase;
      if (backup.spec.clusterName === name && phase !== 'Succeeded' && phase !== 'Failed') this.controller.enqueue(keyOf(backup));
    }
  }
}
