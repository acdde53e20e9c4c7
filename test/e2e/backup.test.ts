import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdBackup } from '../../src/api/backup-types.generated.js';
import { etcdBinary, repoRoot } from '../harness/binaries.js';
import { freePorts } from '../harness/ports.js';
import { type ManagedProcess, startProcess } from '../harness/process.js';
import { type S3Server, startS3Server } from '../harness/s3.js';
import type { Checker } from './checker.js';
import { type E2eEnvironment, startE2eEnvironment } from './environment.js';

const run = promisify(execFile);

/** Resident set size of a process in bytes, from /proc. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? 0) * 1024;
}

// An on-demand backup of a live 3-member cluster, uploaded by the operator process to a real
// MinIO over TLS, then checked from the outside: the object's size and SHA-256 are those the
// status records, and the real etcdutl restores it into a database holding every acknowledged
// write up to the recorded revision. Bad destinations fail with a reason and a Warning event.
describe('EtcdBackup end to end', () => {
  let env: E2eEnvironment;
  let s3: S3Server;
  let checker: Checker;
  let restored: ManagedProcess | undefined;
  const ns = 'default';
  const name = 'example';
  const bucket = 'etcd-backups';

  const backupObject = (backupName: string, over: Record<string, unknown> = {}) => ({
    apiVersion: 'etcd.operator.dev/v1alpha1',
    kind: 'EtcdBackup',
    metadata: { name: backupName, namespace: ns },
    spec: {
      clusterName: name,
      destination: { endpoint: s3.endpoint, bucket, prefix: 'e2e', caBundle: s3.caPem, credentialsSecretRef: { name: 's3-credentials' }, ...over },
    },
  });
  const apply = async (obj: unknown) => {
    const res = await env.cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    expect(res.code, res.stderr).toBe(0);
  };
  const getBackup = async (backupName: string) => JSON.parse(await env.kubectl('get', 'etcdbackup', backupName, '-n', ns, '-o', 'json')) as EtcdBackup;
  const finished = (backupName: string, timeoutMs = 180_000) =>
    env.waitFor(`backup ${backupName} to finish`, async () => {
      const b = await getBackup(backupName);
      return b.status?.phase === 'Succeeded' || b.status?.phase === 'Failed' ? b : undefined;
    }, { timeoutMs, intervalMs: 250, process: env.operator().process });
  const events = async (backupName: string) => {
    const out = await env.kubectl('get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=EtcdBackup,involvedObject.name=${backupName}`, '-o', 'jsonpath={range .items[*]}{.type}/{.reason}{"\\n"}{end}');
    return out.trim().split('\n').filter(Boolean);
  };

  beforeAll(async () => {
    env = await startE2eEnvironment('e2e-backup');
    s3 = await startS3Server(env.cp.dir, { tls: true });
    await s3.createBucket(bucket);
    const secret = (secretName: string, id: string, key: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, namespace: ns }, stringData: { accessKeyID: id, secretAccessKey: key } });
    await apply({ apiVersion: 'v1', kind: 'List', items: [secret('s3-credentials', s3.accessKeyID, s3.secretAccessKey), secret('s3-wrong', s3.accessKeyID, 'not-the-secret-key')] });
    await env.startOperator();
    const res = await env.cp.kubectl(['apply', '-n', ns, '-f', '-'], { input: readFileSync(join(repoRoot, 'deploy', 'samples', 'etcdcluster.yaml'), 'utf8') });
    expect(res.code, res.stderr).toBe(0);
    await env.waitConverged(ns, name, 3);
    checker = await env.checker(ns, name);
    checker.start();
  }, 600_000);
  afterAll(async () => {
    await restored?.stop();
    await s3?.process.stop();
    await env?.stop();
  });

  let backup: EtcdBackup;

  it('takes an on-demand backup while the checker writes: Succeeded, with revision, size and SHA-256', async () => {
    await env.waitFor('the checker to be writing', () => checker.acknowledgedSoFar() >= 50, { timeoutMs: 120_000, intervalMs: 250 });
    const rssBefore = rssOf(env.operator().process.pid);
    const started = Date.now();
    await apply(backupObject('on-demand'));
    backup = await finished('on-demand');
    const s = backup.status!;
    console.log(`backup: ${Date.now() - started} ms from apply to Succeeded; ${s.snapshotSizeBytes} bytes from ${s.member} at revision ${s.revision}; operator RSS ${rssBefore} -> ${rssOf(env.operator().process.pid)} bytes`);
    expect(s.phase, JSON.stringify(s.conditions)).toBe('Succeeded');
    expect(s.conditions?.find((c) => c.type === 'Complete')).toMatchObject({ status: 'True', reason: 'Uploaded', observedGeneration: backup.metadata.generation });
    expect(s.conditions?.find((c) => c.type === 'Failed')?.status).toBe('False');
    expect(s.revision).toBeGreaterThan(1);
    expect(s.clusterID).toBe((await env.cluster(ns, name)).status!.clusterID);
    expect(s.etcdVersion).toBe('3.6.16');
    expect(s.key).toBe(`e2e/${ns}/${name}/on-demand.db`);
    expect(s.sizeBytes).toBe(s.snapshotSizeBytes);
    expect(s.sha256).toBe(s.snapshotSha256);
    expect(new Date(s.completionTime!).getTime()).toBeGreaterThanOrEqual(new Date(s.startTime!).getTime());
    expect(await events('on-demand')).toEqual(expect.arrayContaining(['Normal/BackupStarted', 'Normal/BackupSucceeded']));
    expect(await env.operator().metric('etcd_operator_backup_last_size_bytes', { namespace: ns, cluster: name })).toBe(s.sizeBytes);
    expect(await env.operator().metric('etcd_operator_backup_last_success_timestamp_seconds', { namespace: ns, cluster: name })).toBeGreaterThan(started / 1000 - 1);
    const columns = await env.kubectl('get', 'etcdbackup', 'on-demand', '-n', ns);
    expect(columns).toMatch(/on-demand\s+example\s+Succeeded\s+\d+\s+\d+/);
  });

  it('stored exactly the recorded object in the real S3 server, and no multipart upload is left', async () => {
    const s = backup.status!;
    const head = await s3.head(bucket, s.key!);
    expect(head?.size).toBe(s.sizeBytes);
    // Sent before the first byte, so a lower bound; status.revision is read from the database.
    expect(Number(head?.metadata['etcd-revision-at-least'])).toBeLessThanOrEqual(s.revision!);
    const chunks: Buffer[] = [];
    for await (const chunk of await s3.read(bucket, s.key!)) chunks.push(chunk as Buffer);
    const db = Buffer.concat(chunks);
    expect(createHash('sha256').update(db).digest('hex')).toBe(s.sha256);
    expect(await s3.pendingUploads(bucket)).toBe(0);
    // etcdutl checks a snapshot's trailing SHA-256 itself: give it the digest the status recorded.
    writeFileSync(join(env.cp.dir, 'on-demand.db'), Buffer.concat([db, Buffer.from(s.snapshotSha256!, 'hex')]));
  });

  it('restores with the real etcdutl into a database holding every acknowledged write up to the revision', async () => {
    await env.waitFor('more writes after the backup', () => checker.acknowledgedSoFar() >= 100, { timeoutMs: 120_000, intervalMs: 250 });
    const report = await checker.stop();
    console.log(`checker: ${JSON.stringify(report)}`);
    expect(report.lost).toBe(0);
    const revision = backup.status!.revision!;
    // Acknowledged keys (all present in the live cluster: lost is 0) created at or before the revision.
    const live = JSON.parse(await env.etcdctl(ns, name, ['get', '--prefix', 'checker/', '--keys-only', '-w', 'json'])) as { kvs?: { key: string; create_revision: number }[] };
    const expected = (live.kvs ?? []).filter((kv) => kv.create_revision <= revision).map((kv) => Buffer.from(kv.key, 'base64').toString()).filter((k) => k.includes('/w/'));
    expect(expected.length).toBeGreaterThan(10);

    const [clientPort, peerPort] = await freePorts(2);
    const peer = `http://127.0.0.1:${peerPort}`;
    const client = `http://127.0.0.1:${clientPort}`;
    const dataDir = join(env.cp.dir, 'restored');
    const started = Date.now();
    await run(etcdBinary('etcdutl'), ['snapshot', 'restore', join(env.cp.dir, 'on-demand.db'), `--data-dir=${dataDir}`, '--name=restored', `--initial-cluster=restored=${peer}`, `--initial-advertise-peer-urls=${peer}`]);
    console.log(`etcdutl snapshot restore: ${Date.now() - started} ms`);
    restored = startProcess('etcd-restored', etcdBinary('etcd'), ['--name=restored', `--data-dir=${dataDir}`, `--listen-client-urls=${client}`, `--advertise-client-urls=${client}`, `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`, `--initial-cluster=restored=${peer}`], { logDir: env.cp.dir });
    const etcd = new Etcd3({ hosts: [client] });
    try {
      const keys = await env.waitFor('the restored etcd to answer', async () => new Set(await etcd.getAll().prefix('checker/').keys()), { timeoutMs: 60_000, process: restored });
      const missing = expected.filter((k) => !keys.has(k));
      // The restored etcd starts at the snapshot's revision, which status.revision must be exactly.
      expect(Number((await etcd.get('no-such-key').exec()).header.revision)).toBe(revision);
      console.log(`restored ${keys.size} checker keys; ${expected.length} acknowledged up to revision ${revision}; missing ${missing.length}`);
      expect(missing).toEqual([]);
    } finally {
      etcd.close();
    }
  });

  it('fails with a reason and a Warning event for wrong credentials and a missing bucket, requested at once', async () => {
    await apply({ apiVersion: 'v1', kind: 'List', items: [backupObject('wrong-credentials', { credentialsSecretRef: { name: 's3-wrong' } }), backupObject('missing-bucket', { bucket: 'no-such-bucket' })] });
    const [wrong, missing] = await Promise.all([finished('wrong-credentials'), finished('missing-bucket')]);
    for (const [b, reason] of [[wrong, 'CredentialsRejected'], [missing, 'BucketNotFound']] as const) {
      expect(b.status?.phase).toBe('Failed');
      const failed = b.status?.conditions?.find((c) => c.type === 'Failed');
      expect(failed).toMatchObject({ status: 'True', reason });
      console.log(`${b.metadata.name}: ${failed?.message}`);
      expect(await events(b.metadata.name!)).toContain(`Warning/${reason}`);
      expect(b.status?.attempts).toBe(1);
      expect(await env.operator().metric('etcd_operator_backup_failures_total', { namespace: ns, cluster: name, reason })).toBe(1);
    }
    expect(await s3.keys(bucket, `e2e/${ns}/${name}/`)).toEqual([`e2e/${ns}/${name}/on-demand.db`]);
    expect(await s3.pendingUploads(bucket)).toBe(0);
  });

  it('an endpoint nobody listens on is retried, then fails with EndpointUnreachable after the last attempt', async () => {
    const [port] = await freePorts(1);
    await apply(backupObject('unreachable', { endpoint: `https://127.0.0.1:${port}` }));
    const b = await finished('unreachable');
    const failed = b.status?.conditions?.find((c) => c.type === 'Failed');
    console.log(`unreachable: ${b.status?.attempts} attempts, ${failed?.reason}: ${failed?.message}`);
    expect(b.status?.phase).toBe('Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'EndpointUnreachable' });
    expect(b.status?.attempts).toBe(3);
    expect(await events('unreachable')).toContain('Warning/EndpointUnreachable');
    expect(await env.operator().metric('etcd_operator_backup_failures_total', { namespace: ns, cluster: name, reason: 'EndpointUnreachable' })).toBe(3);
  });

  it('a schedule every minute with retention 2 keeps the two newest scheduled backups and their objects', async () => {
    const started = Date.now();
    const folder = `e2e/${ns}/${name}/`;
    const destination = { endpoint: s3.endpoint, bucket, prefix: 'e2e', caBundle: s3.caPem, credentialsSecretRef: { name: 's3-credentials' } };
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: { schedule: '* * * * *', destination, retention: { keepLast: 2 } } } }));
    const created = new Set<string>();
    const kept = await env.waitFor('a third scheduled backup, and the oldest removed', async () => {
      const list = JSON.parse(await env.kubectl('get', 'etcdbackups', '-n', ns, '-l', 'app.kubernetes.io/component=scheduled-backup', '-o', 'json')) as { items: EtcdBackup[] };
      for (const b of list.items) created.add(b.metadata.name!);
      const done = list.items.every((b) => b.status?.phase === 'Succeeded');
      return created.size >= 3 && list.items.length === 2 && done ? list.items : undefined;
    }, { timeoutMs: 480_000, intervalMs: 2_000, process: env.operator().process });
    console.log(`schedule: ${created.size} scheduled backups created, 2 kept, ${Date.now() - started} ms after the patch: ${[...created].sort().join(', ')}`);
    for (const b of kept) expect(b.metadata.name).toMatch(new RegExp(`^${name}-\\d{12}$`));
    expect(kept.map((b) => b.metadata.name).sort()).toEqual([...created].sort().slice(-2));
    // Retention deleted only the scheduled backups' own objects: the on-demand one stays.
    const keys = (await s3.keys(bucket, folder)).sort();
    expect(keys).toEqual([...kept.map((b) => b.status!.key!), `${folder}on-demand.db`].sort());
    await env.kubectl('patch', 'etcdcluster', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { backup: null } }));
  }, 600_000);

  it('two backups requested at once run one after the other, and the cluster status names the newer', async () => {
    const started = new Date().toISOString();
    await apply({ apiVersion: 'v1', kind: 'List', items: [backupObject('together-a'), backupObject('together-b')] });
    const both = await Promise.all([finished('together-a'), finished('together-b')]);
    for (const b of both) expect(b.status?.phase, JSON.stringify(b.status?.conditions)).toBe('Succeeded');
    // When each attempt started and ended, from the operator's own log lines.
    type Line = { message: string; timestamp: string; key?: string; step?: { kind: string } };
    const log = readFileSync(env.operator().process.logPath, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line).filter((l) => l.timestamp >= started);
    const span = (backupName: string) => {
      const mine = log.filter((l) => l.key === `${ns}/${backupName}`);
      const start = mine.find((l) => l.message === 'backup step' && l.step?.kind === 'start')?.timestamp;
      const end = mine.find((l) => l.message === 'backup attempt ended')?.timestamp;
      expect(start && end, `${backupName}: ${JSON.stringify(mine)}`).toBeTruthy();
      return [Date.parse(start!), Date.parse(end!)] as const;
    };
    const [a, b] = [span('together-a'), span('together-b')];
    console.log(`together-a ran ${a[0]}..${a[1]}, together-b ${b[0]}..${b[1]}`);
    expect(a[1] <= b[0] || b[1] <= a[0], 'the two attempts overlapped').toBe(true);
    const newer = Date.parse(both[0].status!.completionTime!) >= Date.parse(both[1].status!.completionTime!) ? both[0] : both[1];
    const status = await env.waitFor('status.backup to name the newer backup', async () => {
      const s = (await env.cluster(ns, name)).status?.backup;
      return s?.lastSuccessful?.name === newer.metadata.name ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    console.log(`status.backup: ${JSON.stringify(status)}`);
    expect(status.lastSuccessful).toMatchObject({ revision: newer.status!.revision, sizeBytes: newer.status!.sizeBytes, key: newer.status!.key });
    expect(status.failuresSinceSuccess).toBe(0);
    expect(await env.kubectl('get', 'etcdcluster', name, '-n', ns)).toMatch(/LAST BACKUP\s+AGE\n.*\s\d+[smhd]\S*\s+\S+\n?$/);
  });

  // The operator killed outright (SIGKILL at a crash point) once the store accepted the upload's
  // first part, before anything was recorded: the EtcdBackup reads Running with nobody running
  // it. The next process takes it up: a new attempt, Succeeded with an object whose SHA-256 is
  // the recorded one, and no multipart upload left behind.
  it('an operator killed mid-upload: the next process finishes the backup, nothing partial recorded or left', async () => {
    await env.operator().process.stop();
    const crashing = await env.startOperator([], { ETCD_OPERATOR_CRASHPOINTS: 'backup-upload-progress' });
    const started = Date.now();
    await apply(backupObject('crashed'));
    await env.waitFor('the operator to crash mid-upload', () => !crashing.process.running(), { timeoutMs: 120_000 });
    const left = await getBackup('crashed');
    console.log(`left by the killed operator: ${JSON.stringify({ phase: left.status?.phase, attempts: left.status?.attempts, conditions: left.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`) })}`);
    expect(left.status).toMatchObject({ phase: 'Running', attempts: 1 });
    await env.startOperator();
    const b = await finished('crashed');
    console.log(`crashed: ${b.status?.phase} after ${b.status?.attempts} attempts, ${Date.now() - started} ms after the request`);
    expect(b.status, JSON.stringify(b.status?.conditions)).toMatchObject({ phase: 'Succeeded', attempts: 2 });
    const chunks: Buffer[] = [];
    for await (const chunk of await s3.read(bucket, b.status!.key!)) chunks.push(chunk as Buffer);
    expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(b.status!.sha256);
    expect(await s3.pendingUploads(bucket)).toBe(0);
  });

  // Last: the cluster does not get its quorum back.
  it('a backup requested while quorum is lost fails at once with QuorumLost, and nothing is uploaded', async () => {
    await env.kubectl('taint', 'node', env.agent.nodeName, 'etcd-operator.dev/e2e=backup:NoSchedule');
    await env.kubectl('delete', 'pod', `${name}-1`, `${name}-2`, '-n', ns, '--wait=false');
    await env.waitFor('Available=False/QuorumLost', async () => {
      const a = (await env.cluster(ns, name)).status?.conditions?.find((c) => c.type === 'Available');
      return a?.status === 'False' && a.reason === 'QuorumLost';
    }, { timeoutMs: 120_000, intervalMs: 500 });
    const keysBefore = await s3.keys(bucket, `e2e/${ns}/${name}/`);
    await apply(backupObject('no-quorum'));
    const b = await finished('no-quorum', 120_000);
    const failed = b.status?.conditions?.find((c) => c.type === 'Failed');
    console.log(`no-quorum: ${b.status?.phase} ${failed?.reason}: ${failed?.message}`);
    expect(b.status?.phase).toBe('Failed');
    expect(failed).toMatchObject({ status: 'True', reason: 'QuorumLost' });
    expect(b.status?.attempts ?? 0).toBe(0);
    expect(await events('no-quorum')).toContain('Warning/QuorumLost');
    expect(await s3.keys(bucket, `e2e/${ns}/${name}/`)).toEqual(keysBefore);
    const status = await env.waitFor('status.backup to show the failure', async () => {
      const s = (await env.cluster(ns, name)).status?.backup;
      return s?.lastFailed?.name === 'no-quorum' ? s : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(status.lastFailed?.reason).toBe('QuorumLost');
    expect(status.failuresSinceSuccess).toBeGreaterThanOrEqual(1);
    // The outcome gauges are rebuilt by the cluster's schedule pass once the Failed status is in the cache.
    await env.waitFor('the failure in the metrics', async () => (await env.operator().metric('etcd_operator_backup_last_failure_timestamp_seconds', { namespace: ns, cluster: name })) > 0, { timeoutMs: 30_000, intervalMs: 500 });
  });
});
