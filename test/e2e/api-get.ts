import type { KubeConfig } from '@kubernetes/client-node';
import { kubeRequest, statusCodeOf } from '../../src/runtime/kube-http.js';

/**
 * `kubectl get … -o json` answered by one GET to the same API server. Tests poll with it several
 * times a second while they wait; each kubectl process costs about 0.2 s of CPU (38 of them in 15 s
 * used more CPU than every etcd, API server and operator of the two files then running, at load 14
 * on 2 cores). Commands a person types (apply, patch, scale, delete, other outputs) stay kubectl.
 */
const paths: Record<string, { prefix: string; plural: string; cluster?: true }> = {};
for (const [names, prefix, plural, cluster] of [
  [['pod', 'pods'], '/api/v1', 'pods'],
  [['pvc', 'pvcs', 'persistentvolumeclaim', 'persistentvolumeclaims'], '/api/v1', 'persistentvolumeclaims'],
  [['pv', 'persistentvolume', 'persistentvolumes'], '/api/v1', 'persistentvolumes', true],
  [['secret', 'secrets'], '/api/v1', 'secrets'],
  [['configmap', 'configmaps'], '/api/v1', 'configmaps'],
  [['event', 'events'], '/api/v1', 'events'],
  [['statefulset', 'statefulsets', 'sts'], '/apis/apps/v1', 'statefulsets'],
  [['etcdcluster', 'etcdclusters'], '/apis/etcd.operator.dev/v1alpha1', 'etcdclusters'],
  [['etcdbackup', 'etcdbackups'], '/apis/etcd.operator.dev/v1alpha1', 'etcdbackups'],
] as [string[], string, string, true?][]) {
  for (const name of names) paths[name] = { prefix, plural, ...(cluster ? { cluster } : {}) };
}

/** The GET path for `args`, or undefined when the command is not a plain `get … -o json`. */
export function apiPathOf(args: string[]): string | undefined {
  if (args[0] !== 'get') return undefined;
  const positional: string[] = [];
  const query: string[] = [];
  let namespace: string | undefined;
  let json = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    const value = args[i + 1];
    if (!a.startsWith('-')) {
      positional.push(a);
      continue;
    }
    if (value === undefined) return undefined;
    i++;
    if (a === '-n' || a === '--namespace') namespace = value;
    else if (a === '-o' && value === 'json') json = true;
    else if (a === '-l') query.push(`labelSelector=${encodeURIComponent(value)}`);
    else if (a === '--field-selector') query.push(`fieldSelector=${encodeURIComponent(value)}`);
    else return undefined;
  }
  const kind = paths[positional[0] ?? ''];
  if (!json || !kind || positional.length > 2 || (!kind.cluster && !namespace)) return undefined;
  if (positional.length === 2 && query.length > 0) return undefined;
  const base = `${kind.prefix}${kind.cluster ? '' : `/namespaces/${namespace}`}/${kind.plural}`;
  return positional.length === 2 ? `${base}/${encodeURIComponent(positional[1]!)}` : `${base}${query.length ? `?${query.join('&')}` : ''}`;
}

/** The object or list as JSON, or an error worded as kubectl's for a missing object. */
export async function apiGet(kc: KubeConfig, path: string, args: string[]): Promise<string> {
  try {
    return JSON.stringify(await kubeRequest<unknown>(kc, path), null, 4);
  } catch (err) {
    if (statusCodeOf(err) === 404) throw new Error(`kubectl ${args.join(' ')}: Error from server (NotFound): ${args[1]} "${args[2] ?? ''}" not found`);
    throw err;
  }
}
