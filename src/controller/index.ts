import type { KubeConfig, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { createEtcdAdmin } from '../etcd/client.js';
import type { ClusterCache } from '../runtime/cache.js';
import { type Clock, realClock } from '../runtime/clock.js';
import type { Reconciler } from '../runtime/reconciler.js';
import { defaultClusterDomain, labelKeys } from '../resources/names.js';
import { AdminPool } from './admin-pool.js';
import { KubeWriter } from './kube-writer.js';
import { defaultLearnerTimeoutMs } from './learners.js';
import { EtcdClusterReconciler } from './reconcile.js';
import { ClusterMetrics } from '../telemetry/cluster-metrics.js';
import type { UpkeepMetrics } from '../upkeep/metrics.js';
import { defaultOperatorImage } from '../version.js';

/** What main.ts hands the EtcdCluster controller. */
export interface ControllerDeps {
  /** Reads come from here (informer cache), never from live GETs. */
  cache: ClusterCache;
  /** For writes (server-side apply, status, events). */
  kc: KubeConfig;
  /** DNS domain of the Kubernetes cluster, for member names and certificates. */
  clusterDomain?: string;
  /** The image of the member pods' start guard (default: this operator's release image). */
  memberInitImage?: string;
  /** Deadline of every etcd call. */
  etcdCallTimeoutMs?: number;
  clock?: Clock;
  /** Per-cluster health metrics, registered in the operator's registry by main. */
  metrics?: ClusterMetrics;
  /** How long a learner may take to start and catch up before it is removed and added again. */
  learnerTimeoutMs?: number;
  /** The EtcdBackups of a namespace, for status.backup. */
  backups?: (namespace: string) => EtcdBackup[];
  /** Metrics of defragmentation, alarms and the consistency check, registered by main. */
  upkeepMetrics?: UpkeepMetrics;
}

/** The controller name in metrics and logs. */
export const controllerName = 'etcdcluster';

/** The EtcdCluster reconciler, with its etcd clients; `close()` drops their connections. */
export function createEtcdClusterReconciler(deps: ControllerDeps): Reconciler & { close(): void } {
  const callTimeoutMs = deps.etcdCallTimeoutMs ?? 5_000;
  const admins = new AdminPool((endpoints, tls, memory) =>
    createEtcdAdmin({ endpoints: endpoints.map((e) => e.url), serverNames: Object.fromEntries(endpoints.map((e) => [e.url, e.serverName])), tls, callTimeoutMs, memory }),
  );
  const reconciler = new EtcdClusterReconciler({
    cache: deps.cache,
    kc: deps.kc,
    writer: new KubeWriter(deps.kc),
    admins,
    clock: deps.clock ?? realClock,
    clusterDomain: deps.clusterDomain ?? defaultClusterDomain,
    memberInitImage: deps.memberInitImage ?? defaultOperatorImage,
    learnerTimeoutMs: deps.learnerTimeoutMs ?? defaultLearnerTimeoutMs,
    // Without a registry of its own the recorder still tracks health, for the transition logs.
    metrics: deps.metrics ?? new ClusterMetrics(),
    backups: deps.backups,
    upkeepMetrics: deps.upkeepMetrics,
    pvcs: (ns) => deps.cache.list('PersistentVolumeClaim', ns, { [labelKeys.managedBy]: 'etcd-operator' }) as V1PersistentVolumeClaim[],
  });
  return { reconcile: (key, ctx) => reconciler.reconcile(key, ctx), close: () => admins.closeAll() };
}
