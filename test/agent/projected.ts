import type { KubeConfig, V1Pod, V1ProjectedVolumeSource } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';
import { kubeRequest } from '../../src/runtime/kube-http.js';
import { fieldValue } from './env.js';
import type { ObjectSource } from './kube.js';

type Pod = Wire<V1Pod>;

export interface ProjectedFile {
  path: string;
  data: Buffer;
  mode: number;
}

/** A volume that cannot be set up: a FailedMount event, and the pod waits in ContainerCreating. */
export class VolumeSetupError extends Error {
  override name = 'VolumeSetupError';
}

/** Which keys land in which files: all keys by name, or the listed items (a missing one fails). */
export function project(
  data: Record<string, Buffer>,
  items: { key: string; path: string; mode?: number }[] | undefined,
  defaultMode: number,
  what: string,
): ProjectedFile[] {
  if (!items) return Object.entries(data).map(([key, value]) => ({ path: key, data: value, mode: defaultMode }));
  return items.map((item) => {
    const value = data[item.key];
    if (value === undefined) throw new VolumeSetupError(`${what} has no key ${item.key}`);
    return { path: item.path, data: value, mode: item.mode ?? defaultMode };
  });
}

interface CachedToken {
  token: string;
  renewAt: number;
}

/**
 * A projected volume (the service account token volume every pod gets by default): bound tokens
 * from the TokenRequest API, renewed at 80% of their life as the kubelet does, plus ConfigMap,
 * Secret and downward API sources.
 */
export class ProjectedSources {
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly source: ObjectSource,
    private readonly podIP: () => string,
    private readonly hostIP: string,
  ) {}

  async files(pod: Pod, spec: Wire<V1ProjectedVolumeSource>): Promise<ProjectedFile[]> {
    const mode = spec.defaultMode ?? 0o644;
    const ns = pod.metadata?.namespace ?? 'default';
    const files: ProjectedFile[] = [];
    for (const s of spec.sources ?? []) {
      if (s.serviceAccountToken) {
        const token = await this.token(pod, s.serviceAccountToken.audience, s.serviceAccountToken.expirationSeconds ?? 3600);
        files.push({ path: s.serviceAccountToken.path, data: Buffer.from(token), mode });
      } else if (s.configMap) {
        const raw = await this.source.configMap(ns, s.configMap.name ?? '');
        if (!raw && !s.configMap.optional) throw new VolumeSetupError(`configmap "${s.configMap.name}" not found`);
        const data = Object.fromEntries(Object.entries(raw ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
        files.push(...project(data, s.configMap.items, mode, `configmap ${s.configMap.name}`));
      } else if (s.secret) {
        const data = await this.source.secret(ns, s.secret.name ?? '');
        if (!data && !s.secret.optional) throw new VolumeSetupError(`secret "${s.secret.name}" not found`);
        files.push(...project(data ?? {}, s.secret.items, mode, `secret ${s.secret.name}`));
      } else if (s.downwardAPI) {
        for (const item of s.downwardAPI.items ?? []) {
          if (!item.fieldRef) throw new VolumeSetupError('downwardAPI resourceFieldRef is not supported by the local agent');
          files.push({ path: item.path, data: Buffer.from(fieldValue(pod, this.podIP(), this.hostIP, item.fieldRef.fieldPath)), mode: item.mode ?? mode });
        }
      } else {
        throw new VolumeSetupError('projected volume source not supported by the local agent');
      }
    }
    return files;
  }

  private async token(pod: Pod, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const key = `${audience ?? ''}/${expirationSeconds}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.renewAt) return cached.token;
    const { namespace = 'default', name, uid } = pod.metadata ?? {};
    const account = pod.spec?.serviceAccountName ?? 'default';
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { audiences: audience ? [audience] : [], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name, uid } },
    };
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(account)}/token`;
    const answer = await kubeRequest<{ status: { token: string } }>(this.kc, path, { method: 'POST', body });
    this.tokens.set(key, { token: answer.status.token, renewAt: Date.now() + expirationSeconds * 800 });
    return answer.status.token;
  }
}
