import type { KubernetesObject } from '@kubernetes/client-node';
import { withDefaults, type EtcdClusterSpecInput } from '../../src/api/defaults.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { issueCa, issueLeaf } from '../../src/pki/issue.js';
import { leafProfile } from '../../src/pki/profiles.js';
import { buildTlsSecret } from '../../src/pki/secrets.js';
import type { CertificateAndKey } from '../../src/pki/x509.js';
import { buildMembershipConfig } from '../../src/resources/membership-config.js';
import { names } from '../../src/resources/names.js';
import { buildPeerService } from '../../src/resources/services.js';
import { buildStatefulSet } from '../../src/resources/statefulset.js';

/** An EtcdCluster that exists only in memory: enough for the builders, no CRD or operator needed. */
export function fakeCluster(name: string, namespace: string, spec: EtcdClusterSpecInput = {}): EtcdCluster {
  return {
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name, namespace, uid: `00000000-0000-4000-8000-${Buffer.from(name).toString('hex').padEnd(12, '0').slice(0, 12)}` },
    spec: withDefaults(spec),
  };
}

/** The cluster's children without owner references: their owner does not exist in the API. */
function orphan<T extends KubernetesObject>(obj: T): T {
  return { ...obj, metadata: { ...obj.metadata, ownerReferences: undefined } };
}

export interface ClusterFixture {
  objects: KubernetesObject[];
  caPem: string;
  /** The user client certificate (CN etcd-client). */
  client: CertificateAndKey;
}

/**
 * What the operator would create for a new cluster of `replicas` members: CA-signed server and
 * peer certificates from the operator's own profiles, the peer Service, the membership ConfigMap
 * (state new, ordinals 0..replicas-1) and the StatefulSet, all from the operator's builders.
 */
export async function clusterFixture(cluster: EtcdCluster, replicas: number): Promise<ClusterFixture> {
  const ref = { name: cluster.metadata.name!, namespace: cluster.metadata.namespace! };
  const pki = { ...ref, clusterDomain: 'cluster.local' };
  const policy = { validityMs: 24 * 3600_000, renewBeforeMs: 3600_000 };
  const now = new Date();
  const ca = await issueCa(pki, policy, now);
  const caNotAfter = new Date(now.getTime() + 365 * 24 * 3600_000);
  const [server, peer, client] = await Promise.all(
    (['server', 'peer', 'userClient'] as const).map((kind) => issueLeaf(leafProfile(pki, kind), ca, caNotAfter, policy, now)),
  );
  const owner = { apiVersion: 'v1', kind: 'ConfigMap', name: 'none', uid: 'none' };
  const objects: KubernetesObject[] = [
    buildTlsSecret(ref, names.serverSecret(ref), server!, ca.certPem, owner),
    buildTlsSecret(ref, names.peerSecret(ref), peer!, ca.certPem, owner),
    buildPeerService(cluster),
    buildMembershipConfig(cluster, { state: 'new', ordinals: Array.from({ length: replicas }, (_, i) => i), memberVolumes: {} }),
    buildStatefulSet(cluster, replicas, 'trust-hash'),
  ].map(orphan);
  return { objects, caPem: ca.certPem, client: client! };
}

/**
 * A command run with the cluster's DNS: in a private mount namespace whose /etc/hosts is the
 * agent's hosts file, as a client in a pod would resolve member names. Loopback only.
 */
export function withClusterDns(hostsFile: string, argv: string[]): string[] {
  return ['/usr/bin/unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', hostsFile, ...argv];
}
