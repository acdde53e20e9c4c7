import { describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import type { EtcdCluster } from '../api/types.generated.js';
import { annotationKeys } from '../resources/names.js';
import { backupOfCluster } from './origin.js';

const uid = '11111111-1111-1111-1111-111111111111';
const oldUid = '22222222-2222-2222-2222-222222222222';
const cluster = (over: Partial<EtcdCluster['metadata']> = {}, clusterID = 'c0ffee'): EtcdCluster =>
  ({ metadata: { name: 'db', namespace: 'ns', uid, creationTimestamp: '2026-03-10T10:00:00Z', ...over }, spec: {}, status: { clusterID } }) as unknown as EtcdCluster;
const backup = (status: EtcdBackup['status'], created = '2026-03-10T11:00:00Z', clusterName = 'db'): EtcdBackup =>
  ({ metadata: { name: 'b', namespace: 'ns', creationTimestamp: created }, spec: { clusterName }, status }) as unknown as EtcdBackup;

const cases: [string, EtcdBackup, EtcdCluster, boolean][] = [
  ['another cluster name', backup({ clusterUID: uid }, undefined, 'other'), cluster(), false],
  ['the recorded UID is this object\'s', backup({ phase: 'Succeeded', clusterUID: uid, clusterID: 'c0ffee' }), cluster(), true],
  ['the recorded UID is an earlier object\'s of the same name', backup({ phase: 'Succeeded', clusterUID: oldUid, clusterID: 'c0ffee' }), cluster(), false],
  ['a recorded UID decides over a matching etcd cluster ID and creation time', backup({ phase: 'Failed', clusterUID: oldUid, clusterID: 'c0ffee' }, '2026-03-10T12:00:00Z'), cluster(), false],
  ['no UID (made before they were recorded): the etcd cluster ID matches', backup({ phase: 'Succeeded', clusterID: 'c0ffee' }), cluster(), true],
  ['no UID: another etcd cluster ID (the old cluster\'s)', backup({ phase: 'Succeeded', clusterID: 'deadbeef' }), cluster(), false],
  ['no UID: the old cluster\'s etcd ID, adopted with its data', backup({ phase: 'Succeeded', clusterID: 'deadbeef' }), cluster({ annotations: { [annotationKeys.adoptClusterId]: 'deadbeef' } }, ''), true],
  ['no UID: an etcd cluster ID, and this cluster has none yet', backup({ phase: 'Succeeded', clusterID: 'deadbeef' }), cluster({}, ''), false],
  ['neither: created after the cluster', backup({ phase: 'Failed' }), cluster(), true],
  ['neither: created before the cluster (for an earlier one)', backup({ phase: 'Failed' }, '2026-03-10T09:00:00Z'), cluster(), false],
  ['neither: created in the same second as the cluster', backup(undefined, '2026-03-10T10:00:00Z'), cluster(), true],
];

describe('backupOfCluster', () => {
  it.each(cases)('%s', (_name, b, c, expected) => {
    expect(backupOfCluster(b, c)).toBe(expected);
  });
});
