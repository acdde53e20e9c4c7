import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Logger } from 'winston';
import type { Wire } from '../../src/runtime/kinds.js';
import { kubeRequest } from '../../src/runtime/kube-http.js';
import { bytesOf } from '../../src/storage/quantity.js';
import type { EventRecorder } from './events.js';
import { tolerating } from './kube.js';

type Claim = Wire<V1PersistentVolumeClaim>;
type Volume = Wire<V1PersistentVolume>;

export const provisionerName = 'etcd-operator.dev/local-agent';
const provisionedBy = 'pv.kubernetes.io/provisioned-by';

/**
 * The default StorageClass the agent provisions for; Immediate, so claims bind before pods
 * schedule. It allows expansion: the agent resizes its volumes as an external resizer would.
 */
export function storageClass(name: string) {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: provisionerName,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    allowVolumeExpansion: true,
  };
}

/**
 * A `local` PersistentVolume for a claim, pre-bound to it through claimRef; the real PV binder
 * controller completes the binding. `local` (not hostPath) because the kubelet applies fsGroup
 * to local volumes, and its node affinity pins the data to this node.
 */
export function volumeFor(claim: Claim, path: string, nodeName: string, reclaimPolicy: string): Volume {
  const { namespace, name, uid } = claim.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${uid}`, annotations: { [provisionedBy]: provisionerName } },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: reclaimPolicy,
      storageClassName: claim.spec?.storageClassName,
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
      local: { path },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
    },
  };
}

/** Local volume provisioner: a directory per claim of our class, removed when its volume is released. */
export class Provisioner {
  constructor(
    private readonly kc: KubeConfig,
    private readonly className: string,
    private readonly nodeName: string,
    private readonly dir: string,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {}

  async ensureClass(): Promise<void> {
    await tolerating([409], () => kubeRequest(this.kc, '/apis/storage.k8s.io/v1/storageclasses', { method: 'POST', body: storageClass(this.className) }));
  }

  async sync(claims: readonly Claim[], volumes: readonly Volume[]): Promise<void> {
    const existing = new Set(volumes.map((v) => v.metadata?.name));
    for (const claim of claims) {
      if (claim.spec?.storageClassName !== this.className || claim.spec.volumeName || claim.status?.phase !== 'Pending') continue;
      if (claim.metadata?.deletionTimestamp || existing.has(`pvc-${claim.metadata?.uid}`)) continue;
      await this.provision(claim);
    }
    for (const claim of claims) if (claim.spec?.storageClassName === this.className && needsResize(claim)) await this.resize(claim);
    for (const volume of volumes) {
      const phase = volume.status?.phase;
      if (volume.metadata?.annotations?.[provisionedBy] !== provisionerName || volume.metadata.deletionTimestamp) continue;
      if ((phase === 'Released' || phase === 'Failed') && volume.spec?.persistentVolumeReclaimPolicy === 'Delete') await this.remove(volume);
    }
  }

  private async provision(claim: Claim): Promise<void> {
    const path = join(this.dir, 'volumes', `pvc-${claim.metadata?.uid}`);
    mkdirSync(path, { recursive: true, mode: 0o750 });
    const pv = volumeFor(claim, path, this.nodeName, 'Delete');
    const created = await tolerating([409], () => kubeRequest(this.kc, '/api/v1/persistentvolumes', { method: 'POST', body: pv }));
    if (!created) return;
    this.log.info('volume provisioned', { claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`, volume: pv.metadata?.name, path });
    const message = `Successfully provisioned volume ${pv.metadata?.name}`;
    this.events.record({ ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, 'Normal', 'ProvisioningSucceeded', message);
  }

  /**
   * What an external resizer does once the controller-manager's expand controller leaves a claim
   * to it (it finds no in-tree plugin that expands `local` volumes, says ExternalExpanding, and
   * stops): the volume's capacity first, then the claim's status. A directory has no size to grow.
   */
  private async resize(claim: Claim): Promise<void> {
    const size = claim.spec!.resources!.requests!.storage!;
    const { namespace = '', name = '' } = claim.metadata ?? {};
    const pv = `/api/v1/persistentvolumes/${encodeURIComponent(claim.spec!.volumeName!)}`;
    await kubeRequest(this.kc, pv, { method: 'PATCH', body: { spec: { capacity: { storage: size } } }, contentType: 'application/merge-patch+json' });
    const status = `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}/status`;
    await kubeRequest(this.kc, status, { method: 'PATCH', body: { status: { capacity: { storage: size } } }, contentType: 'application/merge-patch+json' });
    this.log.info('volume resized', { claim: `${namespace}/${name}`, volume: claim.spec?.volumeName, size });
    this.events.record({ ...claim, apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, 'Normal', 'VolumeResizeSuccessful', `resized volume ${claim.spec?.volumeName} to ${size}`);
  }

  /** The data goes first, then the object: a crash in between leaves a volume to retry, never a stray directory. */
  private async remove(volume: Volume): Promise<void> {
    const path = volume.spec?.local?.path;
    if (path?.startsWith(join(this.dir, 'volumes') + '/')) rmSync(path, { recursive: true, force: true });
    await tolerating([404], () => kubeRequest(this.kc, `/api/v1/persistentvolumes/${encodeURIComponent(volume.metadata?.name ?? '')}`, { method: 'DELETE' }));
    this.log.info('released volume deleted', { volume: volume.metadata?.name, path });
  }
}

/** A bound claim that asks for more than its capacity. */
function needsResize(claim: Claim): boolean {
  if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName || claim.metadata?.deletionTimestamp) return false;
  const requested = bytesOf(claim.spec.resources?.requests?.storage);
  const capacity = bytesOf(claim.status.capacity?.storage);
  return requested !== undefined && capacity !== undefined && requested > capacity;
}
