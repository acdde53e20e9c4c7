/**
 * Identity of the EtcdCluster API. Everything that names the group, version or kind (the CRD,
 * clients, owner references, RBAC) takes it from here.
 */

export const group = 'etcd.operator.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'EtcdCluster';
export const listKind = 'EtcdClusterList';
export const plural = 'etcdclusters';
export const singular = 'etcdcluster';
export const shortNames = ['etcd'];
export const categories = ['all'];
/** The CRD's own name, `<plural>.<group>`. */
export const crdName = `${plural}.${group}`;
