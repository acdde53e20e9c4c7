import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, statusCodeOf } from '../../src/runtime/kube-http.js';

/** Reads of ConfigMaps and Secrets at the moment a container starts, as the kubelet does. */
export interface ObjectSource {
  /** The data of a ConfigMap, or undefined when it does not exist (404). */
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** The decoded data of a Secret, or undefined when it does not exist (404). */
  secret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
}

async function getOrUndefined<T>(kc: KubeConfig, path: string): Promise<T | undefined> {
  try {
    return await kubeRequest<T>(kc, path);
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

const ns = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}`;

export function apiObjectSource(kc: KubeConfig): ObjectSource {
  return {
    async configMap(namespace, name) {
      const cm = await getOrUndefined<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
        kc,
        `${ns(namespace)}/configmaps/${encodeURIComponent(name)}`,
      );
      return cm ? { ...(cm.data ?? {}) } : undefined;
    },
    async secret(namespace, name) {
      const s = await getOrUndefined<{ data?: Record<string, string> }>(kc, `${ns(namespace)}/secrets/${encodeURIComponent(name)}`);
      if (!s) return undefined;
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    },
  };
}

/** Merge-patches a subresource (`status`) or the object itself. */
export async function mergePatch(kc: KubeConfig, path: string, body: unknown): Promise<void> {
  await kubeRequest(kc, path, { method: 'PATCH', body, contentType: 'application/merge-patch+json' });
}

export function podPath(namespace: string, name: string): string {
  return `${ns(namespace)}/pods/${encodeURIComponent(name)}`;
}

/** Runs `fn`, treating the listed HTTP codes as success (an expected race, like 409 on create). */
export async function tolerating(codes: number[], fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    const code = err instanceof ApiException ? err.code : statusCodeOf(err);
    if (code !== undefined && codes.includes(code)) return false;
    throw err;
  }
}

/**
 * Deletes a pod at once, only if it is still the one with `uid`. Through client-node, because a
 * DELETE with a body needs a Content-Length that kubeRequest does not send.
 */
export async function deletePodNow(kc: KubeConfig, namespace: string, name: string, uid: string | undefined): Promise<boolean> {
  const api = kc.makeApiClient(CoreV1Api);
  // 404: already gone; 409: the name now belongs to a new pod, which is not ours to delete.
  return tolerating([404, 409], () => api.deleteNamespacedPod({ namespace, name, body: { gracePeriodSeconds: 0, preconditions: { uid } } }));
}
