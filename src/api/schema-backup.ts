/**
 * The EtcdBackup schema: one on-demand snapshot of an EtcdCluster in the same namespace, streamed
 * from a member and uploaded to an S3-compatible bucket. The single source of its CRD and types.
 * A backup records one event in time, so its spec never changes after creation.
 */
import { type Schema, boolean, enumOf, int64, object, string, array } from './schema-builders.js';
import { maxClusterNameLength } from './schema.js';
import { condition } from './schema-status.js';

const secretName = (what: string): Schema =>
  string(`Name of the Secret ${what}, in the backup's namespace.`, 253, {
    'x-kubernetes-validations': [
      {
        rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
        messageExpression: "self + ' is not a Secret name: use lowercase letters, digits, - and .'",
      },
    ],
  });

const destination = object(
  'Where the snapshot is uploaded: a bucket of an S3-compatible object store.',
  {
    endpoint: string('URL of the S3 API, such as https://s3.eu-west-1.amazonaws.com or https://minio.storage.svc:9000.', 2048, {
      'x-kubernetes-validations': [
        {
          rule: "self.matches('^https?://[^/?#]+/?$')",
          messageExpression: "'destination.endpoint ' + self + ' is not a URL of an S3 endpoint: write https://host[:port], without a path.'",
        },
      ],
    }),
    bucket: string('Bucket the snapshot is written to. It must exist: the operator never creates buckets.', 63, {
      'x-kubernetes-validations': [
        {
          rule: "self.matches('^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')",
          messageExpression: "'destination.bucket ' + self + ' is not a bucket name: 3 to 63 lowercase letters, digits, . and -.'",
        },
      ],
    }),
    prefix: string('Folder inside the bucket. Objects are written to <prefix>/<namespace>/<cluster>/<backup>.db[.gz].', 512, {
      'x-kubernetes-validations': [
        {
          rule: "!self.startsWith('/') && !self.contains('//')",
          message: 'destination.prefix must not start with / nor contain //: write a relative folder such as etcd-backups.',
        },
      ],
    }),
    region: string('Region the request is signed for. Stores without regions accept the default.', 64, { default: 'us-east-1' }),
    forcePathStyle: boolean('Address the bucket as <endpoint>/<bucket> (true, what most self-hosted stores need) rather than <bucket>.<endpoint>.', {
      default: true,
    }),
    credentialsSecretRef: object(
      'The Secret holding the access key, under the keys accessKeyID and secretAccessKey.',
      { name: secretName('holding accessKeyID and secretAccessKey') },
      { title: 'BackupCredentialsReference', required: ['name'] },
    ),
    caBundle: string('PEM certificates to trust for a TLS endpoint, when its CA is not a public one.', 65536),
    caSecretRef: object(
      'A Secret holding the CA to trust for a TLS endpoint, instead of caBundle.',
      {
        name: secretName('holding the CA'),
        key: string('Key of the CA certificate in the Secret.', 253, { default: 'ca.crt' }),
      },
      { title: 'BackupCASecretReference', required: ['name'] },
    ),
  },
  {
    title: 'BackupDestination',
    required: ['endpoint', 'bucket', 'credentialsSecretRef'],
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.caBundle) && has(self.caSecretRef))',
        message: 'destination.caBundle and destination.caSecretRef are alternatives: keep one of them.',
      },
    ],
  },
);

export const backupSpecSchema: Schema = object(
  'What to back up and where to. Fixed once created: a backup is one snapshot; create another EtcdBackup for a new one.',
  {
    clusterName: string('Name of the EtcdCluster, in the same namespace, to take the snapshot of.', maxClusterNameLength),
    destination,
    compression: enumOf('none uploads the etcd snapshot as it is; gzip compresses it on the way.', ['none', 'gzip'], { default: 'none' }),
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
    revision: int64('Revision of the cluster when the snapshot was taken: every write up to it is in the snapshot.', { minimum: 0 }),
    clusterID: hex('Cluster ID in lowercase hexadecimal.', 16),
    etcdVersion: string('etcd version of the member the snapshot came from.', 64),
    snapshotSizeBytes: int64('Size of the etcd database snapshot, before compression.', { minimum: 0 }),
    snapshotSha256: hex('SHA-256 of the database snapshot before compression, as etcd reported and the operator checked it.', 64),
    sizeBytes: int64('Size of the uploaded object.', { minimum: 0 }),
    sha256: hex('SHA-256 of the uploaded object.', 64),
    bucket: string('Bucket the object was written to.', 63),
    key: string('Key of the uploaded object in the bucket.', 1024),
    compression: enumOf('Compression of the uploaded object.', ['none', 'gzip']),
    conditions: array('Complete (true once the object is uploaded and verified) and Failed (true when the backup stopped for good, with the reason).', condition, 8, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
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
