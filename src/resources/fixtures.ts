import type { EtcdCluster } from '../api/types.generated.js';

/** A minimal valid EtcdCluster for unit tests, as the API server would return it with defaults. */
export function sampleCluster(over: Partial<EtcdCluster['spec']> = {}): EtcdCluster {
  return {
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name: 'main', namespace: 'db', uid: 'uid-1', generation: 1 },
    spec: {
      replicas: 3,
      version: '3.6.16',
      storage: { type: 'PersistentVolumeClaim', size: '8Gi', retentionPolicy: 'Retain' },
      tls: { enabled: true, certificateValidity: '8760h', renewBefore: '720h', caValidity: '87600h' },
      paused: false,
      maintenance: { defrag: { enabled: true, minFragmentedBytes: '100Mi', minFragmentedPercent: 50 }, consistencyCheck: { enabled: true, interval: '5m' } },
      ...over,
    },
  };
}
