import type { KubernetesObject } from '@kubernetes/client-node';
import { fieldManager, labelKeys } from '../resources/names.js';
import { watchedKinds } from './kinds.js';

const root = watchedKinds.EtcdCluster;

/** Selects what the operator created, so child informers do not cache the whole cluster. */
export const childLabelSelector = `${labelKeys.managedBy}=${fieldManager}`;

/**
 * The key of the EtcdCluster a child belongs to: its controller owner reference when that is an
 * EtcdCluster, else its instance label (Pods are owned by their StatefulSet, not by us).
 * Undefined for objects that are not ours.
 */
export function owningClusterKey(obj: KubernetesObject): string | undefined {
  const namespace = obj.metadata?.namespace;
  if (!namespace) return undefined;
  const controller = obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
  if (controller && controller.kind === root.kind && controller.apiVersion.split('/')[0] === root.group) {
    return `${namespace}/${controller.name}`;
  }
  const labels = obj.metadata?.labels ?? {};
  const instance = labels[labelKeys.instance];
  if (instance && labels[labelKeys.managedBy] === fieldManager) return `${namespace}/${instance}`;
  return undefined;
}
