import type { V1Secret } from '@kubernetes/client-node';
import type { ObservedPki } from '../plan.js';
import { leafKinds, leafProfile } from '../profiles.js';

/** What the API server would hand back on the next pass: the named cluster's Secrets among `secrets`. */
export function observeSecrets(cluster: { name: string; namespace: string; clusterDomain: string }, secrets: V1Secret[], ca?: V1Secret): ObservedPki {
  const byName = new Map(secrets.map((s): [string, V1Secret] => [s.metadata!.name!, s]));
  const leaves: ObservedPki['leaves'] = {};
  for (const kind of leafKinds) {
    const secret = byName.get(leafProfile(cluster, kind).secretName);
    if (secret) leaves[kind] = secret;
  }
  return { ca: ca ?? byName.get(`${cluster.name}-ca`), leaves };
}
