import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import type { Wire } from '../../src/runtime/kinds.js';
import { expandReferences } from './expand.js';
import type { ObjectSource } from './kube.js';

type Pod = Wire<V1Pod>;
type Container = Wire<V1Container>;

/** A container whose configuration cannot be built: CreateContainerConfigError in its status. */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

/** What the image itself sets: distroless's PATH, where the etcd binaries are. */
export const imageEnv: ReadonlyMap<string, string> = new Map([['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']]);

const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** The downward API's fieldRef paths the kubelet supports for env. */
export function fieldValue(pod: Pod, podIP: string, hostIP: string, path: string): string {
  const meta = pod.metadata ?? {};
  switch (path) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
  }
  const m = labelOrAnnotation.exec(path);
  if (m) return (m[1] === 'labels' ? meta.labels : meta.annotations)?.[m[2]!] ?? '';
  throw new ContainerConfigError(`unsupported fieldRef ${path}`);
}

async function valueFrom(v: Wire<V1EnvVar>, pod: Pod, ip: { pod: string; host: string }, source: ObjectSource): Promise<string | undefined> {
  const from = v.valueFrom!;
  const ns = pod.metadata?.namespace ?? 'default';
  if (from.fieldRef) return fieldValue(pod, ip.pod, ip.host, from.fieldRef.fieldPath);
  if (from.configMapKeyRef) {
    const { name, key, optional } = from.configMapKeyRef;
    const data = await source.configMap(ns, name ?? '');
    if (!data) return missing(optional, `configmap "${name}" not found`);
    return data[key] ?? missing(optional, `couldn't find key ${key} in ConfigMap ${ns}/${name}`);
  }
  if (from.secretKeyRef) {
    const { name, key, optional } = from.secretKeyRef;
    const data = await source.secret(ns, name ?? '');
    if (!data) return missing(optional, `secret "${name}" not found`);
    return data[key]?.toString('utf8') ?? missing(optional, `couldn't find key ${key} in Secret ${ns}/${name}`);
  }
  throw new ContainerConfigError(`env ${v.name}: resourceFieldRef and fileKeyRef are not supported by the local agent`);
}

function missing(optional: boolean | undefined, message: string): undefined {
  if (optional) return undefined;
  throw new ContainerConfigError(message);
}

async function envFrom(c: Container, ns: string, source: ObjectSource, env: Map<string, string>): Promise<void> {
  for (const from of c.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const data = await source.configMap(ns, from.configMapRef.name ?? '');
      if (!data) missing(from.configMapRef.optional, `configmap "${from.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) env.set(prefix + k, v);
    } else if (from.secretRef) {
      const data = await source.secret(ns, from.secretRef.name ?? '');
      if (!data) missing(from.secretRef.optional, `secret "${from.secretRef.name}" not found`);
      for (const [k, v] of Object.entries(data ?? {})) env.set(prefix + k, v.toString('utf8'));
    }
  }
}

/**
 * The variables the kubelet gives every container for the API server's Service (`kubernetes` in
 * `default`), which in-cluster clients read. It sets them even with enableServiceLinks false. This
 * machine has no Service network, so they name the API server's own address: the stand-in for
 * its ClusterIP.
 */
export function apiServerServiceEnv(server: string): Map<string, string> {
  const url = new URL(server);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || '443';
  const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Map([
    ['KUBERNETES_SERVICE_HOST', host],
    ['KUBERNETES_SERVICE_PORT', port],
    ['KUBERNETES_SERVICE_PORT_HTTPS', port],
    ['KUBERNETES_PORT', `tcp://${hostPort}`],
    [`KUBERNETES_PORT_${port}_TCP`, `tcp://${hostPort}`],
    [`KUBERNETES_PORT_${port}_TCP_PROTO`, 'tcp'],
    [`KUBERNETES_PORT_${port}_TCP_PORT`, port],
    [`KUBERNETES_PORT_${port}_TCP_ADDR`, host],
  ]);
}

/**
 * The container's environment as the kubelet builds it, read fresh at every start: image env,
 * HOSTNAME, the API server's Service, envFrom, then env in order, each plain value expanded against what precedes it.
 */
export async function containerEnv(pod: Pod, c: Container, ip: { pod: string; host: string }, source: ObjectSource, serviceEnv: ReadonlyMap<string, string> = new Map()): Promise<Map<string, string>> {
  const env = new Map(imageEnv);
  env.set('HOSTNAME', pod.spec?.hostname ?? pod.metadata?.name ?? '');
  for (const [k, v] of serviceEnv) env.set(k, v);
  await envFrom(c, pod.metadata?.namespace ?? 'default', source, env);
  for (const v of c.env ?? []) {
    const value = v.valueFrom ? await valueFrom(v, pod, ip, source) : expandReferences(v.value ?? '', (n) => env.get(n));
    if (value !== undefined) env.set(v.name, value);
  }
  return env;
}
