/**
 * What to restore: spec.restore turned into an object to fetch and what to check it against.
 * An EtcdBackup is read live (the cluster controller does not cache backups), and only while a
 * restore runs; the rest is pure.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { EtcdBackup } from '../api/backup-types.generated.js';
import { apiVersion, backupNames } from '../api/group.js';
import type { BackupDestination, EtcdCluster } from '../api/types.generated.js';
import { kubeRequest, statusCodeOf } from '../runtime/kube-http.js';
import type { SourceResolution } from './plan.js';

/** The object a restore pod fetches, and the digests it must match. */
export interface FetchSpec {
  destination: BackupDestination;
  key: string;
  /** SHA-256 of the object as stored. */
  sha256?: string;
  /** SHA-256 of the database after decompression (an EtcdBackup records both). */
  snapshotSha256?: string;
  /** How the object is compressed; undefined lets the fetch step tell from the object. */
  compression?: 'none' | 'gzip';
}

/** The source of a restore by EtcdBackup: ready once the backup Succeeded. Pure. */
export function sourceFromBackup(name: string, namespace: string, backup: EtcdBackup | undefined): SourceResolution {
  if (!backup) return { state: 'invalid', message: `spec.restore.backupName names EtcdBackup ${name}, which does not exist in namespace ${namespace}` };
  const s = backup.status;
  if (s?.phase === 'Failed') return { state: 'invalid', message: `EtcdBackup ${name} failed (${s.conditions?.find((c) => c.type === 'Failed')?.message ?? 'no reason recorded'}): it has no snapshot to restore` };
  if (s?.phase !== 'Succeeded' || !s.key || !s.sha256) return { state: 'waiting', message: `waiting for EtcdBackup ${name} to succeed (phase ${s?.phase ?? 'Pending'})` };
  const fetch: FetchSpec = { destination: backup.spec.destination, key: s.key, sha256: s.sha256, snapshotSha256: s.snapshotSha256, compression: s.compression };
  return {
    state: 'ready',
    source: { description: `EtcdBackup ${name} (${backup.spec.destination.bucket}/${s.key}, revision ${s.revision ?? '?'}, etcd ${s.etcdVersion ?? '?'})`, etcdVersion: s.etcdVersion, fetch },
  };
}

/**
 * The source of a restore by destination and key: always ready; the fetch step checks the rest.
 * Without a sha256 of the user's, a Succeeded EtcdBackup of the namespace that recorded this very
 * object (endpoint, bucket, key) lends its digests, compression and etcd version: the object's
 * own shape then is not the only check between a damaged object and a restored cluster. A
 * sha256 given wins (the user vouches for an object replaced on purpose).
 */
export function sourceFromObject(destination: BackupDestination, key: string, sha256: string | undefined, backups: readonly EtcdBackup[] = []): SourceResolution {
  const description = `${destination.bucket}/${key}`;
  const recorded = sha256 ? undefined : backups.find((b) => b.status?.phase === 'Succeeded' && b.status.key === key && !!b.status.sha256 && b.spec.destination.endpoint === destination.endpoint && b.spec.destination.bucket === destination.bucket);
  if (!recorded) return { state: 'ready', source: { description, fetch: { destination, key, sha256 } } };
  const s = recorded.status!;
  const fetch: FetchSpec = { destination, key, sha256: s.sha256, snapshotSha256: s.snapshotSha256, compression: s.compression };
  return { state: 'ready', source: { description: `${description} (digests recorded by EtcdBackup ${recorded.metadata?.name ?? '?'}; give spec.restore.sha256 for an object replaced on purpose)`, etcdVersion: s.etcdVersion, fetch } };
}

async function readBackup(kc: KubeConfig, namespace: string, name: string, signal: AbortSignal): Promise<EtcdBackup | undefined> {
  try {
    return await kubeRequest<EtcdBackup>(kc, `/apis/${apiVersion}/namespaces/${encodeURIComponent(namespace)}/${backupNames.plural}/${encodeURIComponent(name)}`, { signal });
  } catch (err) {
    if (statusCodeOf(err) === 404) return undefined;
    throw err;
  }
}

/** `backups`: the namespace's EtcdBackups (the backup controller's cache), for a restore by key. */
export async function resolveSource(kc: KubeConfig, cluster: EtcdCluster, signal: AbortSignal, backups: readonly EtcdBackup[] = []): Promise<SourceResolution> {
  const restore = cluster.spec.restore!;
  const namespace = cluster.metadata.namespace!;
  if (restore.backupName) return sourceFromBackup(restore.backupName, namespace, await readBackup(kc, namespace, restore.backupName, signal));
  return sourceFromObject(restore.destination!, restore.key!, restore.sha256, backups);
}
