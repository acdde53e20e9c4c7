import type { V1Service } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { memberSelector, names, ports } from './names.js';
import { childMetadata, clusterRef } from './owner.js';

/**
 * The headless Service that gives each member its stable DNS name. It publishes addresses of pods
 * that are not ready, because a member must be resolvable by its peers before it can join and
 * become ready.
 */
export function buildPeerService(cluster: EtcdCluster): V1Service {
  const ref = clusterRef(cluster);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cluster, names.peerService(ref)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: memberSelector(ref),
      ports: [
        { name: 'peer', port: ports.peer, targetPort: ports.peer, protocol: 'TCP' },
        { name: 'client', port: ports.client, targetPort: ports.client, protocol: 'TCP' },
      ],
    },
  };
}

/** The Service clients connect to: ready members only. */
export function buildClientService(cluster: EtcdCluster): V1Service {
  const ref = clusterRef(cluster);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: childMetadata(cluster, names.clientService(ref)),
    spec: {
      type: 'ClusterIP',
      selector: memberSelector(ref),
      ports: [{ name: 'client', port: ports.client, targetPort: ports.client, protocol: 'TCP' }],
    },
  };
}
