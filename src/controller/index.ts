import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterCache } from '../runtime/cache.js';
import { splitKey } from '../runtime/kinds.js';
import type { Reconciler } from '../runtime/reconciler.js';

/** What main.ts hands the EtcdCluster controller. */
export interface ControllerDeps {
  /** Reads come from here (informer cache), never from live GETs. */
  cache: ClusterCache;
  /** For writes (server-side apply, status, events). */
  kc: KubeConfig;
}

/** The controller name in metrics and logs. */
export const controllerName = 'etcdcluster';

/**
 * PLACEHOLDER until the real EtcdCluster reconciler lands: it only reads the cluster from the
 * cache, so the runtime can be exercised end to end. The real one keeps this signature.
 */
export function createEtcdClusterReconciler(deps: ControllerDeps): Reconciler {
  return {
    reconcile(key, ctx) {
      const { namespace, name } = splitKey(key);
      const cluster = deps.cache.get('EtcdCluster', namespace, name);
      if (!cluster) {
        ctx.log.debug('cluster is gone; nothing to do');
        return Promise.resolve({});
      }
      const children = deps.cache.list('StatefulSet', namespace).length;
      ctx.log.debug('observed cluster', { generation: cluster.metadata?.generation, statefulSets: children });
      return Promise.resolve({});
    },
  };
}
