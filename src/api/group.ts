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

/**
 * Identity of the EtcdBackup API: one snapshot of a cluster, taken once and uploaded to an
 * S3-compatible store. Same group and version as EtcdCluster.
 */
export const backupNames = {
  kind: 'EtcdBackup',
  listKind: 'EtcdBackupList',
  plural: 'etcdbackups',
  singular: 'etcdbackup',
  shortNames: ['etcdbk'],
  crdName: `etcdbackups.${group}`,
} as const;
