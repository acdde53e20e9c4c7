import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import { memberSelector, selectorString } from '../../src/resources/names.js';
import { type S3Server, startS3Server } from '../harness/s3.js';
import type { Checker } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Restore into a new EtcdCluster from a real MinIO (TLS) with real etcdutl and etcd: writes, an
// on-demand backup, more writes; the new 3-member cluster holds every acknowledged key up to the
// backup's revision with its value, and none written after. A corrupted object, a missing one
// and a snapshot newer than spec.version stop the restore with a reason, a Warning event, and
// no member etcd started.
describe('restore into a new EtcdCluster end to end', () => {
  let env: E2eEnvironment;
  let s3: S3Server;
  let checker: Checker;
  let backup: EtcdBackup;
  const ns = 'default';
  const bucket = 'etcd-backups';
  const destination = () => ({ endpoint: s3.endpoint, bucket, prefix: 'e2e', caBundle: s3.caPem, credentialsSecretRef: { name: 's3-credentials' } });

  const apply = async (obj: unknown) => {
    const res = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    expect(res.code, res.stderr).toBe(0);
  };
  const restoredCluster = (name: string, restore: Record<string, unknown>, spec: Record<string, unknown> = {}) => ({
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdCluster',
    metadata: { name, namespace: ns },
    spec: { replicas: 3, restore, ...spec },
  });
  const events = async (name: string) => {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.type}/{.reason}: {.message}{"\\n"}{end}');
    return out.trim().split('\n').filter(Boolean);
  };
  const memberPods = async (name: string) => JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', selectorString(memberSelector({ name, namespace: ns })), '-o', 'json')) as { items: unknown[] };
  const statefulSets = async () => (JSON.parse(await env.kubectl('get', 'statefulsets', '-n', ns, '-o', 'json')) as { items: { metadata: { name: string } }[] }).items.map((s) => s.metadata.name);
  /** Waits for Degraded RestoreFailed, then checks that nothing of etcd was started. */
  const refused = async (name: string) => {
    const c = await env.waitFor(`${name} to refuse the restore`, async () => {
      const cluster = await env.cluster(ns, name);
      return cluster.status?.conditions?.some((x) => x.type === 'Degraded' && x.status === 'True' && x.reason === 'RestoreFailed') ? cluster : undefined;
    }, { timeoutMs: 180_000, intervalMs: 500, process: env.operator().process });
    const degraded = c.status!.conditions!.find((x) => x.type === 'Degraded')!;
    console.log(`${name}: ${degraded.message}`);
    await env.waitFor(`a RestoreFailed Warning event on ${name}`, async () => (await events(name)).some((e) => e.startsWith('Warning/RestoreFailed')), { timeoutMs: 30_000 });
    expect(await statefulSets()).not.toContain(name);
    expect((await memberPods(name)).items).toEqual([]);
    expect(c.status!.conditions!.find((x) => x.type === 'Available')?.status).toBe('False');
    return degraded.message;
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-restore');
    s3 = await startS3Server(env.cp.dir, { tls: true });
    await s3.createBucket(bucket);
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-credentials', namespace: ns }, stringData: { accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey } });
    await env.startOperator();
    await env.createCluster(ns, 'source');
    checker = await env.checker(ns, 'source');
    checker.start();
  }, 600_000);
  afterAll(async () => {
    await s3?.process.stop();
    await env?.stop();
  });

  it('restores a backup into a new 3-member cluster: every acknowledged key up to its revision, none after', async () => {
    await env.waitFor('the checker to be writing', () => checker.acknowledgedSoFar() >= 50, { timeoutMs: 120_000, intervalMs: 250 });
    await apply({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'snap', namespace: ns }, spec: { clusterName: 'source', destination: destination() } });
    backup = await env.waitFor('backup snap to succeed', async () => {
      const b = JSON.parse(await env.kubectl('get', 'etcdbackup', 'snap', '-n', ns, '-o', 'json')) as EtcdBackup;
      if (b.status?.phase === 'Failed') throw new Error(JSON.stringify(b.status));
      return b.status?.phase === 'Succeeded' ? b : undefined;
    }, { timeoutMs: 180_000, intervalMs: 250, process: env.operator().process });
    const atBackup = checker.acknowledgedSoFar();
    await env.waitFor('more writes after the backup', () => checker.acknowledgedSoFar() >= atBackup + 50, { timeoutMs: 120_000, intervalMs: 250 });
    const report = await checker.stop();
    console.log(`checker: ${JSON.stringify(report)}`);
    expect(report.lost).toBe(0);
    const revision = backup.status!.revision!;
    const live = JSON.parse(await env.etcdctl(ns, 'source', ['get', '--prefix', 'checker/', '-w', 'json'])) as { kvs?: { key: string; value: string; create_revision: number; mod_revision: number }[] };
    const writes = (live.kvs ?? []).map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value, 'base64').toString(), created: kv.create_revision })).filter((kv) => kv.key.includes('/w/'));
    const before = writes.filter((w) => w.created <= revision);
    const after = writes.filter((w) => w.created > revision);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(10);

    const started = Date.now();
    await apply(restoredCluster('restored', { backupName: 'snap' }));
    let restoringSeen = false;
    const restoredAt = await env.waitFor('the StatefulSet of the restored cluster', async () => {
      const c = await env.cluster(ns, 'restored');
      if (c.status?.conditions?.some((x) => x.reason === 'Restoring')) restoringSeen = true;
      return (await statefulSets()).includes('restored') ? Date.now() : undefined;
    }, { timeoutMs: 300_000, intervalMs: 250, process: env.operator().process });
    const converged = await env.waitConverged(ns, 'restored', 3);
    const availableAt = Date.now();
    console.log(`restore: ${restoredAt - started} ms from apply to every volume restored (StatefulSet created), ${availableAt - started} ms from apply to Available with 3 healthy voters; ${before.length} keys up to revision ${revision}, ${after.length} after`);
    expect(restoringSeen).toBe(true);
    expect(converged.status!.clusterID).not.toBe((await env.cluster(ns, 'source')).status!.clusterID);

    const got = JSON.parse(await env.etcdctl(ns, 'restored', ['get', '--prefix', 'checker/', '-w', 'json'])) as { kvs?: { key: string; value: string }[] };
    const restored = new Map((got.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]));
    expect(before.filter((w) => restored.get(w.key) !== w.value)).toEqual([]);
    // status.revision is the snapshot's own, read from its database: exactly the writes up to it.
    // (It used to be read by a Status call before the snapshot began, a lower bound: CI once saw
    // a write created at revision + 12 in the restored data.)
    expect(after.filter((w) => restored.has(w.key)).map((w) => `${w.key}@${w.created}`)).toEqual([]);
    // The restore pods are gone once the StatefulSet runs the members.
    await env.waitFor('the restore pods to be deleted', async () => {
      const pods = JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=restored,app.kubernetes.io/component=restore', '-o', 'json')) as { items: unknown[] };
      return pods.items.length === 0;
    }, { timeoutMs: 60_000 });
    expect((await events('restored')).some((e) => e.startsWith('Normal/RestoreStarted'))).toBe(true);
    const cluster = await env.cluster(ns, 'restored');
    const patch = await env.cp.kubectl(['patch', 'etcdcluster', 'restored', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { restore: { backupName: 'other' } } })]);
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toContain('spec.restore cannot change after the cluster is created');
    expect(cluster.spec.restore).toEqual({ backupName: 'snap' });
  }, 900_000);

  it('refuses a snapshot newer than spec.version before making anything', async () => {
    await apply(restoredCluster('too-new', { backupName: 'snap' }, { version: '3.5.35' }));
    const message = await refused('too-new');
    expect(message).toContain('newer than spec.version 3.5.35');
    const claims = JSON.parse(await env.kubectl('get', 'pvc', '-n', ns, '-l', 'app.kubernetes.io/instance=too-new', '-o', 'json')) as { items: unknown[] };
    expect(claims.items).toEqual([]);
  }, 300_000);

  it('refuses a missing object: no member etcd starts', async () => {
    await apply(restoredCluster('missing', { destination: destination(), key: 'e2e/no-such-snapshot.db' }));
    expect(await refused('missing')).toContain('SnapshotNotFound');
  }, 300_000);

  it('refuses a corrupted object: no member etcd starts', async () => {
    const key = backup.status!.key!;
    const chunks: Buffer[] = [];
    for await (const chunk of await s3.read(bucket, key)) chunks.push(chunk as Buffer);
    const db = Buffer.concat(chunks);
    // Same size, one byte changed in the middle: only the digest can tell.
    db[Math.floor(db.length / 2)] = db[Math.floor(db.length / 2)]! ^ 0xff;
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: db }));
    await apply(restoredCluster('corrupt', { backupName: 'snap' }));
    const message = await refused('corrupt');
    expect(message).toContain('SnapshotCorrupt');
    expect(message).toContain(backup.status!.sha256!);
  }, 300_000);
  it('restores a 3.5 backup into a 3.5 cluster through an operator crash, then upgrades it to 3.6', async () => {
    await env.createCluster(ns, 'old', { replicas: 1, version: '3.5.35' });
    for (let n = 0; n < 20; n++) await env.etcdctl(ns, 'old', ['put', `old/${n}`, `v${n}`]);
    await apply({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'old-snap', namespace: ns }, spec: { clusterName: 'old', destination: destination(), compression: 'gzip' } });
    const old = await env.waitFor('backup old-snap to succeed', async () => {
      const b = JSON.parse(await env.kubectl('get', 'etcdbackup', 'old-snap', '-n', ns, '-o', 'json')) as EtcdBackup;
      return b.status?.phase === 'Succeeded' ? b : undefined;
    }, { timeoutMs: 180_000, intervalMs: 250, process: env.operator().process });
    expect(old.status!.etcdVersion).toBe('3.5.35');
    await env.etcdctl(ns, 'old', ['put', 'old/after', 'later']);

    // The operator dies right after creating the restore pods; a new one must carry on.
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-restore-pods' });
    const started = Date.now();
    await apply(restoredCluster('old-restored', { backupName: 'old-snap' }, { version: '3.5.35' }));
    await env.waitFor('the operator to crash after creating the restore pods', () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect(await crashing.process.exited).toBeNull();
    await env.startOperator();
    const restored = await env.waitConverged(ns, 'old-restored', 3);
    console.log(`3.5 restore through a crash: ${Date.now() - started} ms from apply to Available`);
    expect(restored.status!.currentVersion).toBe('3.5.35');
    const get = async () => JSON.parse(await env.etcdctl(ns, 'old-restored', ['get', '--prefix', 'old/', '-w', 'json'])) as { kvs?: { key: string; value: string }[] };
    const keys = async () => new Map(((await get()).kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]));
    const expected = new Map(Array.from({ length: 20 }, (_, n) => [`old/${n}`, `v${n}`]));
    expect(await keys()).toEqual(expected);

    const upgrading = Date.now();
    await env.kubectl('patch', 'etcdcluster', 'old-restored', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: '3.6.16' } }));
    await env.waitFor('every member on 3.6.16', async () => {
      const c = await env.cluster(ns, 'old-restored');
      return c.status?.currentVersion === '3.6.16' && c.status.members?.every((m) => m.healthy && m.version === '3.6.16') ? c : undefined;
    }, { timeoutMs: 600_000, intervalMs: 1_000, process: env.operator().process });
    await env.waitConverged(ns, 'old-restored', 3);
    console.log(`upgrade of the restored cluster to 3.6.16: ${Date.now() - upgrading} ms`);
    expect(await keys()).toEqual(expected);
  }, 900_000);
});
