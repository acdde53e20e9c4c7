import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { apiVersion, plural } from '../api/group.js';
import type { EtcdCluster, EtcdClusterStatus } from '../api/types.generated.js';
import { postEvent } from '../runtime/events.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import { RecentWrites } from '../runtime/read-your-writes.js';
import { fieldManager } from '../resources/names.js';

/** The API path of a named object, from its apiVersion and a plural. */
function objectPath(apiVersionOfObj: string, pluralName: string, namespace: string, name: string): string {
  const base = apiVersionOfObj.includes('/') ? `/apis/${apiVersionOfObj}` : `/api/${apiVersionOfObj}`;
  return `${base}/namespaces/${encodeURIComponent(namespace)}/${pluralName}/${encodeURIComponent(name)}`;
}

const plurals: Record<string, string> = {
  ConfigMap: 'configmaps',
  Secret: 'secrets',
  Service: 'services',
  StatefulSet: 'statefulsets',
  PodDisruptionBudget: 'poddisruptionbudgets',
  PersistentVolumeClaim: 'persistentvolumeclaims',
  Pod: 'pods',
  EtcdCluster: plural,
};

function pathOf(obj: KubernetesObject): string {
  const kind = obj.kind ?? '';
  const p = plurals[kind];
  if (!p || !obj.apiVersion || !obj.metadata?.name || !obj.metadata.namespace) throw new Error(`cannot address ${kind} ${obj.metadata?.name}`);
  return objectPath(obj.apiVersion, p, obj.metadata.namespace, obj.metadata.name);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A merge patch that turns `previous` into `next`: a merge patch merges nested objects, so a key
 * gone at any depth (status.backup.lastFailed) is sent as null to delete it. Lists go whole.
 */
export function replacingPatch(previous: object, next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.fromEntries(Object.keys(previous).map((k) => [k, null]));
  for (const [key, value] of Object.entries(next)) {
    const before = (previous as Record<string, unknown>)[key];
    out[key] = isObject(value) && isObject(before) ? replacingPatch(before, value) : value;
  }
  return out;
}

/** Writes of one pass. Every call is one request; errors carry the HTTP status (KubeApiError). */
export class KubeWriter {
  /**
   * Secrets written and deleted that the cache may not show yet: the certificate pass reads those
   * live (read-your-writes.ts). Only Secrets, the one kind a pass re-reads before trusting an absence.
   */
  readonly recent = new RecentWrites();

  constructor(private readonly kc: KubeConfig) {}

  /** Server-side apply under the operator's field manager, taking ownership of conflicting fields. */
  async apply<T extends KubernetesObject>(obj: T, signal?: AbortSignal): Promise<T> {
    const query = `?fieldManager=${fieldManager}&force=true`;
    const written = await kubeRequest<T>(this.kc, pathOf(obj) + query, { method: 'PATCH', body: obj, contentType: 'application/apply-patch+yaml', signal });
    if (obj.kind === 'Secret') this.recent.wrote('Secret', obj.metadata!.namespace!, obj.metadata!.name!, written?.metadata?.resourceVersion);
    return written;
  }

  /**
   * Replaces the status: a merge patch of the status subresource, where lists are replaced whole
   * and a field this pass no longer reports is sent as null, which deletes it.
   */
  async patchStatus(cluster: EtcdCluster, status: EtcdClusterStatus, signal?: AbortSignal): Promise<void> {
    const path = objectPath(apiVersion, plural, cluster.metadata.namespace!, cluster.metadata.name!) + '/status';
    const body = { status: replacingPatch(cluster.status ?? {}, JSON.parse(JSON.stringify(status)) as Record<string, unknown>) };
    await kubeRequest(this.kc, path, { method: 'PATCH', body, contentType: 'application/merge-patch+json', signal });
  }

  /** Deletes an object; already gone counts as done. `options` is the DeleteOptions body. */
  async delete(kind: string, apiVersionOfObj: string, namespace: string, name: string, signal?: AbortSignal, options?: { propagationPolicy?: string; preconditions?: { uid?: string }; gracePeriodSeconds?: number }): Promise<void> {
    try {
      const body = options ? { apiVersion: 'v1', kind: 'DeleteOptions', ...options } : undefined;
      await kubeRequest(this.kc, pathOf({ kind, apiVersion: apiVersionOfObj, metadata: { name, namespace } }), { method: 'DELETE', body, signal });
    } catch (err) {
      if (statusCodeOf(err) !== 404) throw err;
    }
    // A Secret's DELETE answers a Status without a version: the cache is current once it drops it.
    if (kind === 'Secret') this.recent.deleted('Secret', namespace, name);
  }

  /** A Kubernetes Event on the cluster object, for people running `kubectl describe`. */
  async event(cluster: EtcdCluster, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): Promise<void> {
    const { name, namespace, uid } = cluster.metadata;
    await postEvent(this.kc, { apiVersion, kind: 'EtcdCluster', name, namespace, uid }, type, reason, message, now);
  }
}
