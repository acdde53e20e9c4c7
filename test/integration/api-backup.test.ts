import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import { backupNames } from '../../src/api/group.js';
import { repoRoot } from '../harness/binaries.js';
import { type ControlPlane, startControlPlane } from '../harness/control-plane.js';

// The EtcdBackup CRD as the real API server applies it: defaults filled in, bad destinations
// refused by its CEL rules with a message that says what to do, and a spec that never changes.
const destination = { endpoint: 'https://minio.storage.svc:9000', bucket: 'etcd-backups', credentialsSecretRef: { name: 's3' } };

const rejected: [string, object, string][] = [
  ['an endpoint with a path', { destination: { ...destination, endpoint: 'https://s3.example.com/bucket' } }, 'is not a URL of an S3 endpoint'],
  ['an endpoint without a scheme', { destination: { ...destination, endpoint: 's3.example.com' } }, 'is not a URL of an S3 endpoint'],
  ['a bucket name with capitals', { destination: { ...destination, bucket: 'Backups' } }, 'destination.bucket Backups is not a bucket name'],
  ['an absolute prefix', { destination: { ...destination, prefix: '/etcd' } }, 'destination.prefix must not start with /'],
  ['both a CA bundle and a CA Secret', { destination: { ...destination, caBundle: 'PEM', caSecretRef: { name: 'ca' } } }, 'destination.caBundle and destination.caSecretRef are alternatives'],
  ['an unknown compression', { destination, compression: 'zstd' }, 'Unsupported value: "zstd"'],
  ['no credentials', { destination: { endpoint: destination.endpoint, bucket: destination.bucket } }, 'credentialsSecretRef: Required value'],
];

describe('EtcdBackup API validation', () => {
  let cp: ControlPlane;
  const ns = 'backups';
  const apply = (name: string, spec: object) =>
    cp.kubectl([`--namespace=${ns}`, 'apply', '-f', '-'], { input: stringify({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name }, spec }) });

  beforeAll(async () => {
    cp = await startControlPlane('api-backup');
    expect((await cp.kubectl(['create', 'namespace', ns])).code).toBe(0);
    expect((await cp.kubectl(['apply', '-f', `${repoRoot}/crds`])).code).toBe(0);
    await cp.waitForCrd(backupNames.crdName);
  });
  afterAll(async () => cp?.stop());

  it('accepts a minimal backup and fills in the defaults', async () => {
    const res = await apply('minimal', { clusterName: 'example', destination });
    expect(res.code, res.stderr).toBe(0);
    const backup = JSON.parse((await cp.kubectl(['-n', ns, 'get', 'etcdbackup', 'minimal', '-o', 'json'])).stdout) as EtcdBackup;
    expect(backup.spec).toEqual({ clusterName: 'example', compression: 'none', destination: { ...destination, region: 'us-east-1', forcePathStyle: true } });
  });

  it('accepts deploy/samples/etcdbackup.yaml', async () => {
    const res = await cp.kubectl([`--namespace=${ns}`, 'apply', '--dry-run=server', '-f', `${repoRoot}/deploy/samples/etcdbackup.yaml`]);
    expect(res.code, res.stderr).toBe(0);
  });

  it.each(rejected)('refuses %s', async (_what, spec, says) => {
    const res = await apply('bad', { clusterName: 'example', ...spec });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(says);
  });

  it('refuses any change to the spec of an existing backup', async () => {
    expect((await apply('fixed', { clusterName: 'example', destination })).code).toBe(0);
    const res = await apply('fixed', { clusterName: 'example', destination, compression: 'gzip' });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec of an EtcdBackup cannot change: it describes one snapshot. Create a new EtcdBackup instead.');
  });

  it.each([
    ['every day', 'backup.schedule every day is not a cron schedule'],
    ['* * * *', 'backup.schedule * * * * is not a cron schedule'],
    ['61 * * * *', 'backup.schedule 61 * * * * is not a cron schedule'],
    ['0 0 31 13 *', 'backup.schedule 0 0 31 13 * is not a cron schedule'],
    ['*/0 * * * *', 'backup.schedule */0 * * * * is not a cron schedule'],
  ])('refuses an EtcdCluster with the backup schedule %j', async (schedule, says) => {
    const cluster = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'scheduled' }, spec: { backup: { schedule, destination } } };
    const res = await cp.kubectl([`--namespace=${ns}`, 'apply', '--dry-run=server', '-f', '-'], { input: stringify(cluster) });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(says);
  });

  it('accepts an EtcdCluster with a backup schedule and retention', async () => {
    const cluster = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'scheduled' }, spec: { backup: { schedule: '0 */6 * * *', destination, retention: { keepLast: 7, maxAge: '168h' } } } };
    const res = await cp.kubectl([`--namespace=${ns}`, 'apply', '--dry-run=server', '-f', '-'], { input: stringify(cluster) });
    expect(res.code, res.stderr).toBe(0);
  });

  it('lists backups with their cluster, phase and age', async () => {
    const res = await cp.kubectl(['-n', ns, 'get', 'etcdbackups']);
    expect(res.stdout.split('\n')[0]).toMatch(/^NAME\s+CLUSTER\s+PHASE\s+REVISION\s+SIZE\s+AGE$/);
  });
});
