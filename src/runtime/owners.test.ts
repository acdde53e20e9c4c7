import { describe, expect, it } from 'vitest';
import { owningClusterKey } from './owners.js';

const ours = { 'app.kubernetes.io/managed-by': 'etcd-operator', 'app.kubernetes.io/instance': 'by-label' };
const ownerRef = (kind: string, apiVersion: string, controller?: boolean) => ({ kind, apiVersion, name: 'by-owner', uid: 'u', controller });

describe('owningClusterKey', () => {
  it.each([
    ['controller EtcdCluster owner', { ownerReferences: [ownerRef('EtcdCluster', 'etcd.operator.dev/v1alpha1', true)], labels: ours }, 'ns/by-owner'],
    ['owner of another version of our group', { ownerReferences: [ownerRef('EtcdCluster', 'etcd.operator.dev/v1', true)] }, 'ns/by-owner'],
    ['a pod owned by its StatefulSet falls back to the label', { ownerReferences: [ownerRef('StatefulSet', 'apps/v1', true)], labels: ours }, 'ns/by-label'],
    ['a non-controller EtcdCluster reference is ignored', { ownerReferences: [ownerRef('EtcdCluster', 'etcd.operator.dev/v1alpha1')], labels: ours }, 'ns/by-label'],
    ['EtcdCluster of a foreign group is not ours', { ownerReferences: [ownerRef('EtcdCluster', 'etcd.database.coreos.com/v1beta2', true)] }, undefined],
    ['an instance label without our managed-by is not ours', { labels: { 'app.kubernetes.io/instance': 'x' } }, undefined],
    ['nothing at all', {}, undefined],
  ])('%s', (_name, metadata, expected) => {
    expect(owningClusterKey({ metadata: { name: 'child', namespace: 'ns', ...metadata } })).toBe(expected);
  });

  it('ignores cluster-scoped objects', () => {
    expect(owningClusterKey({ metadata: { name: 'x', labels: ours } })).toBeUndefined();
  });
});
