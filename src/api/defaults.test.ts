import { readFileSync } from 'node:fs';
import type { V1Affinity, V1Toleration, V1TopologySpreadConstraint } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { specDefaults, withDefaults } from './defaults.js';
import { defaultEtcdVersion } from './schema-spec.js';
import type { EtcdClusterSpec } from './types.generated.js';

describe('spec defaults', () => {
  it('fill an empty spec from the schema', () => {
    expect(withDefaults({})).toEqual({
      replicas: 3,
      version: '3.6.16',
      storage: { type: 'PersistentVolumeClaim', size: '8Gi', retentionPolicy: 'Retain' },
      tls: { enabled: true, certificateValidity: '8760h', renewBefore: '720h', caValidity: '87600h' },
      paused: false,
      maintenance: { defrag: { enabled: true, minFragmentedBytes: '100Mi', minFragmentedPercent: 50 }, consistencyCheck: { enabled: true, interval: '5m' } },
    });
    expect(specDefaults).toEqual(withDefaults());
  });

  it('fill missing fields of nested objects and keep what is set', () => {
    const input = { replicas: 5, storage: { storageClassName: 'fast' }, tls: { renewBefore: '48h' } };
    const spec = withDefaults(input);
    expect(spec.storage).toEqual({ type: 'PersistentVolumeClaim', size: '8Gi', retentionPolicy: 'Retain', storageClassName: 'fast' });
    expect(spec.tls).toEqual({ enabled: true, certificateValidity: '8760h', renewBefore: '48h', caValidity: '87600h' });
    expect(spec.replicas).toBe(5);
    expect(input).toEqual({ replicas: 5, storage: { storageClassName: 'fast' }, tls: { renewBefore: '48h' } });
  });

  it('default etcd version is the one the tests pin in hack/versions.env', () => {
    const env = readFileSync(new URL('../../hack/versions.env', import.meta.url), 'utf8');
    expect(`v${defaultEtcdVersion}`).toBe(/^ETCD_VERSION=(\S+)$/m.exec(env)?.[1]);
  });
});

describe('generated pod template types', () => {
  it('are assignable to the client library types the StatefulSet builder uses', () => {
    // Compile-time check: these assignments fail tsc if the schema drifts from the Pod API.
    const spec: EtcdClusterSpec = withDefaults({
      resources: { requests: { cpu: '250m' } },
      podTemplate: { tolerations: [{ key: 'k', operator: 'Exists' }], topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }] },
    });
    const affinity: V1Affinity | undefined = spec.podTemplate?.affinity;
    const tolerations: V1Toleration[] | undefined = spec.podTemplate?.tolerations;
    const spread: V1TopologySpreadConstraint[] | undefined = spec.podTemplate?.topologySpreadConstraints;
    // Not resources: quantities may be numbers (cpu: 2), which the client types spell as strings.
    expect([affinity, tolerations?.length, spread?.length]).toEqual([undefined, 1, 1]);
  });
});
