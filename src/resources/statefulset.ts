import type { V1StatefulSet } from '@kubernetes/client-node';
import type { EtcdCluster } from '../api/types.generated.js';
import { defaultClusterDomain, labelKeys, memberSelector, names } from './names.js';
import { childMetadata, clusterRef } from './owner.js';
import { buildPodTemplate } from './pod-template.js';
import { defaultOperatorImage } from '../version.js';

/**
 * The members' StatefulSet. `replicas` comes from the membership plan, never straight from the
 * spec: the StatefulSet grows only after etcd has accepted a new member, and shrinks only after
 * etcd has let one go.
 *
 * - Parallel pod management: bootstrap members must start together to elect a leader.
 * - OnDelete updates: the operator restarts members itself, one at a time, leader last; a
 *   rolling update by the StatefulSet controller knows nothing of quorum or leadership.
 * - Volume retention follows spec.storage.retentionPolicy, Retain by default.
 */
/** `refuseEmptyData`: see empty-data-refusal.ts; off only to keep a live template from before it. */
export function buildStatefulSet(cluster: EtcdCluster, replicas: number, trustBundleHash: string, domain = defaultClusterDomain, initImage = defaultOperatorImage, refuseEmptyData = true): V1StatefulSet {
  const ref = clusterRef(cluster);
  const storage = cluster.spec.storage;
  const policy = storage.retentionPolicy === 'Delete' ? 'Delete' : 'Retain';
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: childMetadata(cluster, names.statefulSet(ref)),
    spec: {
      replicas,
      serviceName: names.peerService(ref),
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: memberSelector(ref) },
      template: buildPodTemplate(cluster, ref, domain, trustBundleHash, initImage, refuseEmptyData),
      persistentVolumeClaimRetentionPolicy: { whenDeleted: policy, whenScaled: policy },
      volumeClaimTemplates:
        storage.type === 'EmptyDir'
          ? undefined
          : [
              {
                apiVersion: 'v1',
                kind: 'PersistentVolumeClaim',
                // Labelled like every child, so the operator's informers see the claims.
                metadata: { name: 'data', labels: { ...memberSelector(ref), [labelKeys.managedBy]: 'etcd-operator' } },
                spec: {
                  accessModes: ['ReadWriteOnce'],
                  storageClassName: storage.storageClassName,
                  resources: { requests: { storage: storage.size } },
                },
              },
            ],
    },
  };
}
