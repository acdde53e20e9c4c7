import type { V1Pod } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { env } from '../resources/etcd-args.js';
import { type ClusterRef, forcePodLabels, names } from '../resources/names.js';
import { childMetadata } from '../resources/owner.js';
import { buildPodTemplate } from '../resources/pod-template.js';

/**
 * The pod that runs a survivor ONCE with --force-new-cluster, pure. It is the member's own pod
 * template (same image, flags, certificates and peer URLs: POD_NAME is the member's name) on the
 * survivor's volume, with three differences that make it a one-shot:
 * - restartPolicy Never and a name outside the StatefulSet's `<name>-<n>`, with labels its
 *   selector does not match: nothing restarts it or adopts it, so the flag runs exactly once;
 * - no start guard (the volume holds data, which the guard always lets start) and no probes (a
 *   liveness kill would end the one run before it answered);
 * - hostname and subdomain of the member, so it has the member's DNS name wherever the peer
 *   Service publishes it.
 */
export function buildForcePod(cluster: EtcdCluster, ref: ClusterRef, ordinal: number, domain: string, trustBundleHash: string): V1Pod {
  const template = buildPodTemplate(cluster, ref, domain, trustBundleHash, '');
  const spec = template.spec!;
  const etcd = spec.containers[0]!;
  const member = names.member(ref, ordinal);
  const podEnv = (etcd.env ?? []).map((e) => (e.name === env.podName ? { name: env.podName, value: member } : e));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...childMetadata(cluster, names.forcePod(ref, ordinal)), labels: forcePodLabels(ref) },
    spec: {
      ...spec,
      affinity: undefined,
      restartPolicy: 'Never',
      hostname: member,
      subdomain: names.peerService(ref),
      initContainers: undefined,
      containers: [
        {
          ...etcd,
          args: [...(etcd.args ?? []), '--force-new-cluster'],
          env: podEnv,
          livenessProbe: undefined,
          readinessProbe: undefined,
          startupProbe: undefined,
        },
      ],
      volumes: [...(spec.volumes ?? []), { name: 'data', persistentVolumeClaim: { claimName: names.dataVolumeClaim(ref, ordinal) } }],
    },
  };
}
