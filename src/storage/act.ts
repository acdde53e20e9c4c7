import type { Logger } from 'winston';
import { conditionReasons as R } from '../api/conditions.js';
import type { EtcdCluster } from '../api/types.generated.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import { type ClusterRef, names } from '../resources/names.js';
import type { StorageStep } from './plan.js';

export interface StorageContext {
  cluster: EtcdCluster;
  ref: ClusterRef;
  writer: KubeWriter;
  /** UID of the live StatefulSet: a deletion never reaches another object of the same name. */
  statefulSetUid: string | undefined;
  log: Logger;
  now: Date;
  signal?: AbortSignal;
}

/** The condition reason and message of a storage step (Progressing, or Degraded for a refusal). */
export function describeStorage(step: StorageStep, ref: ClusterRef): { reason: string; message: string } | undefined {
  switch (step.kind) {
    case 'expandClaim':
      return { reason: R.expandingVolumes, message: `expanding PVC ${step.claim} from ${step.from ?? '?'} to ${step.to}` };
    case 'wait':
      return step.reason === 'claimResizing'
        ? { reason: R.expandingVolumes, message: `waiting for PVC ${step.claim} to reach ${step.requested ?? '?'} (capacity ${step.capacity ?? 'unknown'})` }
        : { reason: R.expandingVolumes, message: `waiting for StatefulSet ${names.statefulSet(ref)} to be deleted (its pods keep running) to recreate it with the new volume size` };
    case 'recreateStatefulSet':
      return { reason: R.expandingVolumes, message: `recreating StatefulSet ${names.statefulSet(ref)} with volumeClaimTemplates of ${step.to}, its pods left running` };
    case 'refuse': {
      const why =
        step.state === 'missing'
          ? step.className ? `StorageClass ${step.className} does not exist` : 'they have no StorageClass'
          : `StorageClass ${step.className} does not allow volume expansion (allowVolumeExpansion is not true)`;
      return {
        reason: R.storageClassCannotExpand,
        message:
          `spec.storage.size asks for ${step.size}, but PVC ${step.claims.join(', ')} cannot grow: ${why}. Nothing is changed. ` +
          `If the class's provisioner can expand volumes, set allowVolumeExpansion: true on it and the operator grows them; otherwise create a new EtcdCluster with the larger size`,
      };
    }
    case 'none':
      return undefined;
  }
}

/** Carries out one storage step: one request, and a Normal event saying what it did. */
export async function actStorage(step: StorageStep, ctx: StorageContext): Promise<'acted' | 'idle'> {
  const { ref } = ctx;
  switch (step.kind) {
    case 'expandClaim': {
      // Only the size, under the operator's field manager: the rest of the claim stays the controller's.
      const patch = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: step.claim, namespace: ref.namespace }, spec: { resources: { requests: { storage: step.to } } } };
      await ctx.writer.apply(patch, ctx.signal);
      await event(ctx, 'VolumeExpansionRequested', `asked PVC ${step.claim} to grow from ${step.from ?? '?'} to ${step.to}`);
      return 'acted';
    }
    case 'recreateStatefulSet': {
      const preconditions = ctx.statefulSetUid ? { uid: ctx.statefulSetUid } : undefined;
      await ctx.writer.delete('StatefulSet', 'apps/v1', ref.namespace, names.statefulSet(ref), ctx.signal, { propagationPolicy: 'Orphan', preconditions });
      await event(ctx, 'StatefulSetOrphaned', `deleted StatefulSet ${names.statefulSet(ref)} leaving its ${step.replicas} pods running, to recreate it with volumeClaimTemplates of ${step.to}`);
      return 'acted';
    }
    case 'wait':
    case 'refuse':
    case 'none':
      return 'idle';
  }
}

async function event(ctx: StorageContext, reason: string, message: string): Promise<void> {
  ctx.log.info(message, { event: reason });
  await ctx.writer.event(ctx.cluster, 'Normal', reason, message, ctx.now);
}
