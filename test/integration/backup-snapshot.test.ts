import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { observeMembers, openSnapshot } from '../../src/backup/snapshot.js';
import { SnapshotVerifier, sha256Length } from '../../src/backup/stream.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import type { EtcdAdmin, EtcdTls } from '../../src/etcd/types.js';
import { etcdBinary } from '../harness/binaries.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';

const run = promisify(execFile);

// The etcd side of a backup against real members with TLS: quorum judged from the members'
// statuses, a follower chosen, and etcd's Maintenance Snapshot stream checked against the
// SHA-256 etcd appends, stripped, and accepted by the real etcdutl once the digest is put back.
describe('backup snapshot stream from real etcd', () => {
  let cluster: EtcdTestCluster;
  let admin: EtcdAdmin;
  let tls: EtcdTls;
  const endpoints = () => cluster.endpoints().map((url) => ({ url, serverName: 'localhost' }));

  beforeAll(async () => {
    cluster = await startEtcdCluster({ size: 3, label: 'backup-snapshot' });
    tls = { caPem: cluster.pki.trustedCaPem, certPem: cluster.pki.client.certPem, keyPem: cluster.pki.client.keyPem };
    admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls, callTimeoutMs: 5_000 });
    for (let i = 0; i < 200; i++) expect((await cluster.etcdctl(['put', `k/${String(i).padStart(4, '0')}`, 'x'.repeat(1000)])).code).toBe(0);
  }, 240_000);
  afterAll(async () => {
    admin?.close();
    await cluster?.stop();
  });

  it('sees quorum and offers followers first', async () => {
    const health = await observeMembers(admin, endpoints());
    expect(health.quorum).toBe('ok');
    expect(health.candidates).toHaveLength(3);
    const leader = (await admin.statusAll()).flatMap((p) => ('status' in p && p.status.memberId === p.status.leaderId ? [p.endpoint] : []));
    expect(health.candidates.at(-1)!.url).toBe(leader[0]);
  });

  it('streams a verified snapshot that etcdutl restores with every key', async () => {
    const health = await observeMembers(admin, endpoints());
    const snapshot = await openSnapshot(health.candidates[0]!, tls, 5_000, new AbortController().signal);
    const file = join(cluster.dir, 'snap.db');
    const verifier = new SnapshotVerifier();
    await pipeline(snapshot.bytes, verifier, createWriteStream(file));
    snapshot.close();
    const db = readFileSync(file);
    expect(verifier.result).toEqual({ sizeBytes: db.length, sha256: createHash('sha256').update(db).digest('hex') });
    expect(snapshot.revision).toBeGreaterThanOrEqual(201);
    expect(snapshot.clusterID).toMatch(/^[0-9a-f]+$/);
    expect(snapshot.etcdVersion).toBe(cluster.version.replace(/^v/, ''));
    // The stripped file is what is uploaded; etcdutl wants the digest back to check it itself.
    const withDigest = `${file}.full`;
    writeFileSync(withDigest, Buffer.concat([db, Buffer.from(verifier.result!.sha256, 'hex')]));
    expect(readFileSync(withDigest).length).toBe(db.length + sha256Length);
    const status = await run(etcdBinary('etcdutl'), ['snapshot', 'status', withDigest, '-w', 'json']);
    const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(parsed.revision).toBeGreaterThanOrEqual(snapshot.revision);
    expect(parsed.totalKey).toBeGreaterThanOrEqual(200);
    await run(etcdBinary('etcdutl'), ['snapshot', 'restore', withDigest, `--data-dir=${join(cluster.dir, 'restored')}`, '--name=r', '--initial-cluster=r=http://127.0.0.1:1', '--initial-advertise-peer-urls=http://127.0.0.1:1']);
  });

  it('reports quorum lost when two of three members are down', async () => {
    const [, second, third] = [...cluster.members.keys()];
    await cluster.stopMember(second!);
    await cluster.stopMember(third!);
    const health = await observeMembers(admin, endpoints());
    expect(health.quorum).toBe('lost');
  });
});
