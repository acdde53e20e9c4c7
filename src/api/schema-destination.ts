/**
 * Where backups go: a bucket of an S3-compatible store. Shared by EtcdBackup.spec and the
 * schedule in EtcdCluster.spec.backup, so both validate a destination the same way.
 */
import { type Schema, boolean, enumOf, object, string } from './schema-builders.js';

const secretName = (what: string): Schema =>
  string(`Name of the Secret ${what}, in the backup's namespace.`, 253, {
    'x-kubernetes-validations': [
      {
        rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
        messageExpression: "self + ' is not a Secret name: use lowercase letters, digits, - and .'",
      },
    ],
  });

export const destination = object(
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

export const compression = enumOf('none uploads the etcd snapshot as it is; gzip compresses it on the way.', ['none', 'gzip'], { default: 'none' });
