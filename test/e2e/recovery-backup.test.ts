import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { type S3Server, startS3Server } from '../harness/s3.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Quorum-loss recovery from a backup, with consent (issue 16): keys written before an EtcdBackup
// to a real MinIO, more after; two of three members lost with their volumes; consent to recover
// from the backup: every key up to the backup's revision is back, none after, and
// status.clusterID names the cluster ID the restored members answer with.
describe('consented recovery from a backup', () => {
  let env: E2eEnvironment;
  let s3: S3Server;
  const ns = 'default';
  const name = 'recb';
  const bucket = 'etcd-backups';
  let uid = '';

  const cluster = (): Promise<EtcdCluster> => env.cluster(ns, name);
  const apply = async (obj: unknown) => {
    const res = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    expect(res.code, res.stderr).toBe(0);
  };
  const put = async (from: number, to: number) => {
    for (let i = from; i <= to; i++) await env.etcdctl(ns, name, ['put', `k/${String(i).padStart(3, '0')}`, `v${i}`]);
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-recovery-backup');
    s3 = await startS3Server(env.cp.dir, { tls: true });
    await s3.createBucket(bucket);
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-credentials', namespace: ns }, stringData: { accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey } });
    await env.startOperator();
    uid = (await env.createCluster(ns, name)).metadata.uid!;
  }, 600_000);
  afterAll(async () => {
    await s3?.process.stop();
    await env?.stop();
  });

  it('keys up to the backup come back, none after, and the cluster ID latch names the restored cluster', async () => {
    await put(1, 20);
    await apply({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'snap', namespace: ns }, spec: { clusterName: name, destination: { endpoint: s3.endpoint, bucket, prefix: 'e2e', caBundle: s3.caPem, credentialsSecretRef: { name: 's3-credentials' } } } });
    const backup = await env.waitFor('backup snap to succeed', async () => {
      const b = JSON.parse(await env.kubectl('get', 'etcdbackup', 'snap', '-n', ns, '-o', 'json')) as EtcdBackup;
      if (b.status?.phase === 'Failed') throw new Error(JSON.stringify(b.status));
      return b.status?.phase === 'Succeeded' ? b : undefined;
    }, { timeoutMs: 180_000, intervalMs: 250 });
    await put(21, 30);
    const oldClusterId = (await cluster()).status!.clusterID;

    const lost = [`${name}-0`, `${name}-1`];
    await env.loseMembers(ns, lost);
    const report = await env.waitFor('status.quorumRecovery with the backup', async () => {
      const c = await cluster();
      return c.status?.quorumRecovery?.newestBackup?.name === 'snap' ? c.status.quorumRecovery : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    console.log(`quorumRecovery: ${JSON.stringify(report)}`);
    expect(report.options?.find((o) => o.source === 'Backup')).toMatchObject({ name: 'snap', revision: backup.status!.revision });

    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { recovery: { clusterUID: uid, fromBackup: { backupName: 'snap' } } } }));
    const c = await env.waitConverged(ns, name, 3, 300_000);
    console.log(`consent -> 3/3 voters from the backup: ${Date.now() - started} ms; recovery: ${JSON.stringify(c.status?.recovery)}`);
    expect(c.status!.recovery).toMatchObject({ phase: 'Succeeded', revision: backup.status!.revision });
    // etcd derives the cluster ID from the member IDs, and those from the peer URLs and the cluster
    // token, which a recovery in place keeps: the ID may well be the old one. Either way the latch
    // must name what the members answer with.
    const header = (JSON.parse(await env.etcdctl(ns, name, ['member', 'list', '-w', 'json', '--hex'])) as { header: { cluster_id: string } }).header;
    const answered = BigInt(`0x${header.cluster_id}`).toString(16);
    console.log(`cluster ID before ${oldClusterId}, after ${answered}`);
    expect(c.status!.clusterID).toBe(answered);
    const got = JSON.parse(await env.etcdctl(ns, name, ['get', '--prefix', 'k/', '-w', 'json'])) as { kvs?: { key: string }[] };
    const keys = (got.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString());
    expect(keys).toEqual(Array.from({ length: 20 }, (_, i) => `k/${String(i + 1).padStart(3, '0')}`));
    const reasons = await env.eventReasons(ns);
    for (const r of ['RecoveryStarted', 'LostVolumesDeleted', 'RestoreStarted', 'Recovered']) expect(reasons).toContain(r);
    // The restore pods are gone, and the cluster takes writes.
    await put(31, 31);
  });

  // The object store down when the recovery's restore pods fetch: they are run again, as
  // spec.restore's are (RestoreRetried, a Warning), not a stop; the store back, the recovery ends.
  it('a second loss, recovered from the backup while the object store is down for a while', async () => {
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/recovery' }]));
    await env.waitFor('the spent consent forgotten', async () => ((await cluster()).status?.recovery?.consent === undefined ? true : undefined), { timeoutMs: 60_000, intervalMs: 250 });
    await env.loseMembers(ns, [`${name}-1`, `${name}-2`]);
    await env.waitFor('status.quorumRecovery', async () => (await cluster()).status?.quorumRecovery, { timeoutMs: 60_000, intervalMs: 250 });
    await s3.stop();
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { recovery: { clusterUID: uid, fromBackup: { backupName: 'snap' } } } }));
    await env.waitFor('a restore pod run again', async () => (await env.eventReasons(ns)).includes('RestoreRetried'), { timeoutMs: 120_000, intervalMs: 500, process: env.operator().process });
    const degraded = (await cluster()).status?.conditions?.find((c) => c.type === 'Degraded');
    console.log(`store down: RestoreRetried after ${Date.now() - started} ms; Degraded ${degraded?.status}/${degraded?.reason}`);
    expect(degraded?.reason).not.toBe('RecoveryFailed');
    await s3.start();
    const c = await env.waitConverged(ns, name, 3, 300_000);
    console.log(`consent -> 3/3 voters with the store down at first: ${Date.now() - started} ms; recovery: ${JSON.stringify(c.status?.recovery)}`);
    expect(c.status!.recovery).toMatchObject({ phase: 'Succeeded' });
    const got = JSON.parse(await env.etcdctl(ns, name, ['get', '--prefix', 'k/', '-w', 'json'])) as { kvs?: { key: string }[] };
    expect((got.kvs ?? []).map((kv) => Buffer.from(kv.key, 'base64').toString())).toEqual(Array.from({ length: 20 }, (_, i) => `k/${String(i + 1).padStart(3, '0')}`));
    expect(await env.eventReasons(ns)).not.toContain('RecoveryFailed');
  }, 420_000);
});
