import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import type { EtcdCluster } from '../../src/api/types.generated.js';
import { type S3Server, startS3Server } from '../harness/s3.js';
import { type Checker, expectNoLoss } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

// Faults beside the restore and version paths while the operator is away (SIGKILLed at a crash
// point, or stopped) at the wrong moment, on one shared source cluster to keep CI time low:
// - a restore whose operator dies right after making the volumes, and whose credentials Secret is
//   deleted while it is away: the restore pods cannot start, and the status must say why (not
//   "Restoring" for ever); once the Secret is back the restore converges with every key;
// - a snapshot cut short at a page boundary, restored by bucket/key without a sha256: etcdutl
//   crashes on it (or restores a small one), so the fetch step must refuse it with a reason; and
//   one byte changed in a backup's object restored by key: the digest its EtcdBackup recorded;
// - an EtcdBackup deleted while its restore pods run (its object stays): the pods go on, and the
//   status must not say the restore stopped while the cluster then starts;
// - a downgrade 3.6 -> 3.5 with the operator killed after its first member restarted: it
//   converges on 3.5 once the operator is back, 0 acknowledged writes lost.
describe('the operator away at the wrong moment', () => {
  let env: E2eEnvironment;
  let s3: S3Server;
  let checker: Checker;
  let backup: EtcdBackup;
  const ns = 'default';
  const bucket = 'etcd-backups';
  const destination = (secret = 's3-credentials') => ({ endpoint: s3.endpoint, bucket, prefix: 'e2e', caBundle: s3.caPem, credentialsSecretRef: { name: secret } });
  const credentials = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { accessKeyID: s3.accessKeyID, secretAccessKey: s3.secretAccessKey } });

  const apply = async (obj: unknown) => {
    const res = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    expect(res.code, res.stderr).toBe(0);
  };
  const restoredCluster = (name: string, restore: Record<string, unknown>) => ({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name, namespace: ns }, spec: { replicas: 3, restore } });
  const events = async (name: string) => {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdCluster,involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.type}/{.reason}: {.message}{"\\n"}{end}');
    return out.trim().split('\n').filter(Boolean);
  };
  const statefulSets = async () => (JSON.parse(await env.kubectl('get', 'statefulsets', '-n', ns, '-o', 'json')) as { items: { metadata: { name: string } }[] }).items.map((s) => s.metadata.name);
  const condition = (c: EtcdCluster, type: string) => c.status?.conditions?.find((x) => x.type === type);
  /** The keys under checker/ of a cluster, with their values. */
  const checkerKeys = async (name: string) => {
    const got = JSON.parse(await env.etcdctl(ns, name, ['get', '--prefix', 'checker/', '-w', 'json'])) as { kvs?: { key: string; value: string; create_revision: number }[] };
    return (got.kvs ?? []).map((kv) => ({ key: Buffer.from(kv.key, 'base64').toString(), value: Buffer.from(kv.value, 'base64').toString(), created: kv.create_revision })).filter((kv) => kv.key.includes('/w/'));
  };
  /** Waits for Degraded with `reason`, true to the spec's generation, and checks that no member etcd runs. */
  const degradedWithout = async (name: string, reason: string) => {
    const c = await env.waitFor(`${name}: Degraded ${reason}`, async () => {
      const x = await env.cluster(ns, name);
      const d = condition(x, 'Degraded');
      if (d?.status !== 'True' || d.reason !== reason) return undefined;
      return d.observedGeneration === x.metadata.generation ? x : undefined;
    }, { timeoutMs: 180_000, intervalMs: 500, process: env.operator().process });
    const message = condition(c, 'Degraded')!.message;
    console.log(`${name}: Degraded ${reason}: ${message}`);
    await env.waitFor(`a Warning ${reason} event on ${name}`, async () => (await events(name)).some((e) => e.startsWith(`Warning/${reason}`)), { timeoutMs: 30_000 });
    expect(await statefulSets()).not.toContain(name);
    expect(condition(c, 'Available')?.status).toBe('False');
    return message;
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-operator-away');
    s3 = await startS3Server(env.cp.dir, { tls: true });
    await s3.createBucket(bucket);
    await apply(credentials('s3-credentials'));
    await env.startOperator();
    await env.createCluster(ns, 'source');
    checker = await env.checker(ns, 'source');
    checker.start();
    await env.waitFor('the checker to be writing', () => checker.acknowledgedSoFar() >= 30, { timeoutMs: 120_000, intervalMs: 250 });
    await apply({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'snap', namespace: ns }, spec: { clusterName: 'source', destination: destination() } });
    backup = await env.waitFor('backup snap to succeed', async () => {
      const b = JSON.parse(await env.kubectl('get', 'etcdbackup', 'snap', '-n', ns, '-o', 'json')) as EtcdBackup;
      if (b.status?.phase === 'Failed') throw new Error(JSON.stringify(b.status));
      return b.status?.phase === 'Succeeded' ? b : undefined;
    }, { timeoutMs: 180_000, intervalMs: 250, process: env.operator().process });
  }, 600_000);
  afterAll(async () => {
    await s3?.process.stop();
    await env?.stop();
  });

  it('a restore whose credentials Secret goes while the operator is away says so, and converges once it is back', async () => {
    await apply(credentials('s3-away'));
    // The operator dies right after making the volumes; the Secret goes while none runs.
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-restore-claims' });
    const started = Date.now();
    await apply(restoredCluster('away', { destination: destination('s3-away'), key: backup.status!.key!, sha256: backup.status!.sha256! }));
    await env.waitFor('the operator to crash after making the restore volumes', () => !crashing.process.running(), { timeoutMs: 120_000 });
    expect(await crashing.process.exited).toBeNull();
    await env.kubectl('delete', 'secret', 's3-away', '-n', ns);
    await env.startOperator();
    const message = await degradedWithout('away', 'RestoreBlocked');
    expect(message).toContain('s3-away');
    const progressing = condition(await env.cluster(ns, 'away'), 'Progressing');
    expect(progressing).toMatchObject({ status: 'True', reason: 'Restoring' });

    await apply(credentials('s3-away'));
    const converged = await env.waitConverged(ns, 'away', 3, 300_000);
    console.log(`restore through a crash and a missing Secret: ${Date.now() - started} ms from apply to Available`);
    expect(condition(converged, 'Degraded')?.status).toBe('False');
    const revision = backup.status!.revision!;
    const before = (await checkerKeys('source')).filter((w) => w.created <= revision);
    const restored = new Map((await checkerKeys('away')).map((w) => [w.key, w.value]));
    expect(before.length).toBeGreaterThan(5);
    expect(before.filter((w) => restored.get(w.key) !== w.value)).toEqual([]);
  }, 600_000);

  it('refuses a snapshot cut short at a page boundary, restored by key without a sha256: no member etcd starts', async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of await s3.read(bucket, backup.status!.key!)) chunks.push(chunk as Buffer);
    const db = Buffer.concat(chunks);
    expect(backup.status!.compression ?? 'none').toBe('none');
    // Its last page gone, as a multipart object missing its last part would be (parts are whole pages).
    const cut = db.subarray(0, db.length - 4096);
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'e2e/cut-short.db', Body: cut }));
    await apply(restoredCluster('cut', { destination: destination(), key: 'e2e/cut-short.db' }));
    const message = await degradedWithout('cut', 'RestoreFailed');
    expect(message).toContain('SnapshotCorrupt');
    const pods = JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=cut,app.kubernetes.io/component=member', '-o', 'json')) as { items: unknown[] };
    expect(pods.items).toEqual([]);

    // One byte changed in the middle of the backup's own object, restored by key without a
    // sha256: only a digest can tell, and the EtcdBackup that wrote that key recorded one.
    const flipped = Buffer.from(db);
    flipped[Math.floor(flipped.length / 2)] = flipped[Math.floor(flipped.length / 2)]! ^ 0xff;
    await s3.client().send(new PutObjectCommand({ Bucket: bucket, Key: backup.status!.key!, Body: flipped }));
    await apply(restoredCluster('flipped', { destination: destination(), key: backup.status!.key! }));
    const flippedMessage = await degradedWithout('flipped', 'RestoreFailed');
    expect(flippedMessage).toContain('SnapshotCorrupt');
    expect(flippedMessage).toContain(backup.status!.sha256!);
  }, 300_000);

  it('an EtcdBackup deleted while its restore pods run: the restore goes on, and never reads as stopped', async () => {
    await apply({ apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdBackup', metadata: { name: 'snap-gone', namespace: ns }, spec: { clusterName: 'source', destination: destination() } });
    await env.waitFor('backup snap-gone to succeed', async () => (JSON.parse(await env.kubectl('get', 'etcdbackup', 'snap-gone', '-n', ns, '-o', 'json')) as EtcdBackup).status?.phase === 'Succeeded', { timeoutMs: 180_000, intervalMs: 250, process: env.operator().process });
    await apply(restoredCluster('gone', { backupName: 'snap-gone' }));
    await env.waitFor('the restore pods of gone', async () => (JSON.parse(await env.kubectl('get', 'pods', '-n', ns, '-l', 'app.kubernetes.io/instance=gone,app.kubernetes.io/component=restore', '-o', 'json')) as { items: unknown[] }).items.length === 3, { timeoutMs: 60_000, intervalMs: 100 });
    // The object stays (an EtcdBackup has no finalizer): what the pods fetch is still there.
    await env.kubectl('delete', 'etcdbackup', 'snap-gone', '-n', ns);
    const seen = new Set<string>();
    await env.waitFor('gone Available', async () => {
      const c = await env.cluster(ns, 'gone');
      const d = condition(c, 'Degraded');
      if (d?.status === 'True') seen.add(`${d.reason}: ${d.message}`);
      return condition(c, 'Available')?.status === 'True';
    }, { timeoutMs: 300_000, intervalMs: 250, process: env.operator().process });
    await env.waitConverged(ns, 'gone', 3);
    // (MemberUnhealthy while the restored members start is the usual bootstrap, not this.)
    expect([...seen].filter((d) => d.startsWith('RestoreFailed'))).toEqual([]);
    expect((await events('gone')).filter((e) => e.startsWith('Warning/RestoreFailed'))).toEqual([]);
  }, 600_000);

  it('a downgrade with the operator killed after its first member restarted converges on 3.5, no write lost', async () => {
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'after-member-restart' });
    const started = Date.now();
    await env.kubectl('patch', 'etcdcluster', 'source', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { version: '3.5.35' } }));
    await env.waitFor('the operator to crash after the first member restarted', () => !crashing.process.running(), { timeoutMs: 240_000 });
    expect(await crashing.process.exited).toBeNull();
    // Away for a while: the restarted member comes up on 3.5 with nobody watching.
    await new Promise((r) => setTimeout(r, 5_000));
    await env.startOperator();
    await env.waitFor('every member on 3.5.35', async () => {
      const c = await env.cluster(ns, 'source');
      return (c.status?.members ?? []).length === 3 && c.status!.members!.every((m) => m.version === '3.5.35') ? c : undefined;
    }, { timeoutMs: 300_000, intervalMs: 500, process: env.operator().process });
    const c = await env.waitConverged(ns, 'source', 3);
    console.log(`downgrade through a crash after the first restart: ${Date.now() - started} ms`);
    expect(c.status!.currentVersion).toBe('3.5.35');
    await expectNoLoss(checker);
  }, 600_000);
});
