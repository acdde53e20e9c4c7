/**
 * The EtcdBackup schema: one on-demand snapshot of an EtcdCluster in the same namespace, streamed
 * from a member and uploaded to an S3-compatible bucket. The single source of its CRD and types.
 * A backup records one event in time, so its spec never changes after creation.
 */
import { type Schema, array, enumOf, int64, object, string } from './schema-builders.js';
import { compression, destination } from './schema-destination.js';
import { condition } from './schema-status.js';

export const backupSpecSchema: Schema = object(
  'What to back up and where to. Fixed once created: a backup is one snapshot; create another EtcdBackup for a new one.',
  {
    clusterName: string('Name of the EtcdCluster, in the same namespace, to take the snapshot of.', 253),
    destination,
    compression,
  },
  {
    title: 'EtcdBackupSpec',
    required: ['clusterName', 'destination'],
    'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'spec of an EtcdBackup cannot change: it describes one snapshot. Create a new EtcdBackup instead.' }],
  },
);

const hex = (description: string, length: number) => string(description, length, { pattern: `^[0-9a-f]{1,${length}}$` });

export const backupPhases = ['Pending', 'Running', 'Succeeded', 'Failed'] as const;

export const backupStatusSchema: Schema = object(
  'What happened to the backup, rebuilt by the operator on every pass.',
  {
    observedGeneration: int64('The .metadata.generation the operator last acted on.'),
    phase: enumOf('Pending (waiting to start), Running, Succeeded or Failed. Succeeded and Failed are final.', [...backupPhases]),
    startTime: string('When the snapshot stream was opened.', 64, { format: 'date-time' }),
    completionTime: string('When the backup succeeded or failed for good.', 64, { format: 'date-time' }),
    attempts: int64('How many times the upload was started; an interrupted upload is tried again, up to a limit.', { minimum: 0 }),
    member: string('The member the snapshot was streamed from.', 253),
    revision: int64('The snapshot\'s own revision, read from its database as etcd reads it when a restored member starts: the snapshot holds every write up to it and none after. Should the database not be readable, the Complete condition says so and this is the member\'s revision just before the snapshot began, a lower bound.', { minimum: 0 }),
    clusterID: hex('Cluster ID in lowercase hexadecimal.', 16),
    clusterUID: string('metadata.uid of the EtcdCluster the backup is of, recorded when its first attempt starts (and with the object, as metadata etcd-cluster-uid). An EtcdCluster deleted and created again under the same name is another cluster: this backup is not shown as a backup of it, and an attempt under way when its cluster went is stopped.', 36),
    etcdVersion: string('etcd version of the member the snapshot came from.', 64),
    snapshotSizeBytes: int64('Size of the etcd database snapshot, before compression.', { minimum: 0 }),
    snapshotSha256: hex('SHA-256 of the database snapshot before compression, as etcd reported and the operator checked it.', 64),
    sizeBytes: int64('Size of the uploaded object.', { minimum: 0 }),
    sha256: hex('SHA-256 of the uploaded object.', 64),
    bucket: string('Bucket the object was written to.', 63),
    key: string('Key of the uploaded object in the bucket.', 1024),
    compression: enumOf('Compression of the uploaded object.', ['none', 'gzip']),
    upload: object('How far the current (or last) attempt got, updated while it runs: an upload that stalls shows as lastProgressTime falling behind.', {
      storedBytes: int64('Bytes the object store has acknowledged in this attempt (whole parts of 8 MiB); once the backup succeeded, the size of the object.', { minimum: 0 }),
      lastProgressTime: string('When a byte last moved in this attempt, from the member or into the store. An attempt in which none moves for 30 s is aborted and tried again (reason StoreStalled, or SnapshotFailed when the member stopped sending).', 64, { format: 'date-time' }),
    }),
    conditions: array('Complete (true once the object is uploaded and verified) and Failed (true when the backup stopped for good, with the reason); on a scheduled backup, RetentionBlocked (true when retention would delete it and cannot, with the reason).', condition, 8, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  },
  { title: 'EtcdBackupStatus' },
);

export const etcdBackupSchema: Schema = object(
  'A snapshot of an EtcdCluster, verified and uploaded to S3-compatible object storage by etcd-operator.',
  {
    apiVersion: string('Versioned schema of this object.', 64),
    kind: string('Kind of this object.', 64),
    metadata: { type: 'object' },
    spec: backupSpecSchema,
    status: backupStatusSchema,
  },
  { title: 'EtcdBackup', required: ['spec'] },
);
