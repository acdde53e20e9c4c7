/**
 * The CustomResourceDefinition object, built from the schema. hack/api/generate.ts writes it to
 * crds/; tests and tools may also install it directly.
 */
import { backupNames, categories, crdName, group, kind, listKind, plural, shortNames, singular, version } from './group.js';
import type { Schema } from './schema-builders.js';
import { etcdClusterSchema } from './schema.js';
import { etcdBackupSchema } from './schema-backup.js';

/** Drops the TypeScript-only keywords (title) from a schema, recursively. */
export function crdSchema(schema: Schema): Schema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'title') continue;
    if (key === 'properties') out[key] = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, crdSchema(v)]));
    else if (key === 'items' || key === 'additionalProperties') out[key] = crdSchema(value as Schema);
    else if (key === 'anyOf') out[key] = (value as Schema[]).map(crdSchema);
    else out[key] = value;
  }
  return out;
}

const column = (name: string, jsonPath: string, type: string, description: string, priority = 0) => ({
  name,
  type,
  jsonPath,
  description,
  ...(priority ? { priority } : {}),
});

export const printerColumns = [
  column('Replicas', '.spec.replicas', 'integer', 'Desired members'),
  column('Ready', '.status.readyReplicas', 'integer', 'Healthy members'),
  column('Version', '.status.currentVersion', 'string', 'Lowest etcd version the members run'),
  column('Leader', '.status.leader', 'string', 'Leader member'),
  column('Available', '.status.conditions[?(@.type=="Available")].status', 'string', 'Whether a quorum serves clients'),
  column('Problem', '.status.conditions[?(@.type=="Degraded")].reason', 'string', 'Why the cluster needs attention (Healthy when nothing does)'),
  column('Last Backup', '.status.backup.lastSuccessful.completionTime', 'date', 'Time since the last successful backup'),
  column('Age', '.metadata.creationTimestamp', 'date', 'Time since creation'),
  column('Desired Version', '.spec.version', 'string', 'etcd version asked for', 1),
];

export function etcdClusterCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      names: { kind, listKind, plural, singular, shortNames, categories },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: crdSchema(etcdClusterSchema) },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: printerColumns,
        },
      ],
    },
  };
}

export const backupPrinterColumns = [
  column('Cluster', '.spec.clusterName', 'string', 'EtcdCluster the snapshot is of'),
  column('Phase', '.status.phase', 'string', 'Pending, Running, Succeeded or Failed'),
  column('Revision', '.status.revision', 'integer', 'etcd revision the snapshot holds'),
  column('Size', '.status.sizeBytes', 'integer', 'Bytes uploaded'),
  column('Reason', '.status.conditions[?(@.type=="Failed")].reason', 'string', 'Why the backup failed', 1),
  column('Key', '.status.key', 'string', 'Object key in the bucket', 1),
  column('Age', '.metadata.creationTimestamp', 'date', 'Time since creation'),
];

export function etcdBackupCrd() {
  const { kind: backupKind, listKind: backupListKind, plural: backupPlural, singular: backupSingular, shortNames: backupShortNames, crdName: backupCrdName } = backupNames;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: backupCrdName },
    spec: {
      group,
      names: { kind: backupKind, listKind: backupListKind, plural: backupPlural, singular: backupSingular, shortNames: [...backupShortNames] },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: crdSchema(etcdBackupSchema) },
          subresources: { status: {} },
          additionalPrinterColumns: backupPrinterColumns,
        },
      ],
    },
  };
}
