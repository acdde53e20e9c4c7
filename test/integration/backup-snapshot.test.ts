import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotRevisionReader } from '../../src/backup/bolt-revision.js';
import { type MemberEndpoint, observeMembers, openSnapshot } from '../../src/backup/snapshot.js';
import { SnapshotVerifier, sha256Length } from '../../src/backup/stream.js';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { connectEndpoint } from '../../src/etcd/connection.js';
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
    expect(snapshot.revisionBefore).toBeGreaterThanOrEqual(201);
    expect(snapshot.clusterID).toMatch(/^[0-9a-f]+$/);
    expect(snapshot.etcdVersion).toBe(cluster.version.replace(/^v/, ''));
    // The stripped file is what is uploaded; etcdutl wants the digest back to check it itself.
    const withDigest = `${file}.full`;
    writeFileSync(withDigest, Buffer.concat([db, Buffer.from(verifier.result!.sha256, 'hex')]));
    expect(readFileSync(withDigest).length).toBe(db.length + sha256Length);
    const status = await run(etcdBinary('etcdutl'), ['snapshot', 'status', withDigest, '-w', 'json']);
    const parsed = JSON.parse(status.stdout) as { revision: number; totalKey: number };
    expect(parsed.revision).toBeGreaterThanOrEqual(snapshot.revisionBefore);
    expect(parsed.totalKey).toBeGreaterThanOrEqual(200);
    await run(etcdBinary('etcdutl'), ['snapshot', 'restore', withDigest, `--data-dir=${join(cluster.dir, 'restored')}`, '--name=r', '--initial-cluster=r=http://127.0.0.1:1', '--initial-advertise-peer-urls=http://127.0.0.1:1']);
  });

  /** A snapshot as a backup reads it, saved with etcd's digest so etcdutl accepts it. */
  const snapshotOf = async (member: MemberEndpoint, file: string) => {
    const snapshot = await openSnapshot(member, tls, 5_000, new AbortController().signal);
    const verifier = new SnapshotVerifier();
    const reader = new SnapshotRevisionReader();
    const parts: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, done) {
        parts.push(chunk);
        done();
      },
    });
    await pipeline(snapshot.bytes, verifier, reader, collect);
    snapshot.close();
    writeFileSync(file, Buffer.concat([...parts, Buffer.from(verifier.result!.sha256, 'hex')]));
    const status = await run(etcdBinary('etcdutl'), ['snapshot', 'status', file, '-w', 'json']);
    return { before: snapshot.revisionBefore, recorded: reader.revision(), etcdutl: (JSON.parse(status.stdout) as { revision: number }).revision };
  };

  // The recorded revision was read by a Status call before the snapshot began, so writes in
  // between made it a lower bound (CI saw a write at revision + 12 in a restored backup).
  it('records the snapshot\'s own revision while writes go on: the one etcdutl reads from the file', async () => {
    const member = (await observeMembers(admin, endpoints())).candidates[0]!;
    const client = connectEndpoint(cluster.endpoints()[0]!, tls, 'localhost');
    let writing = true;
    let written = 0;
    const writer = async (w: number) => {
      for (let n = 0; writing; n++) {
        await client.put(`w/${w}/${n}`).value('x'.repeat(100));
        written++;
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    try {
      const rounds = [];
      for (let round = 0; round < 6; round++) {
        const start = written;
        while (written < start + 20) await new Promise((r) => setTimeout(r, 5));
        rounds.push(await snapshotOf(member, join(cluster.dir, `busy-${round}.db`)));
      }
      console.log(`snapshots under writes (before/recorded/etcdutl): ${rounds.map((r) => `${r.before}/${r.recorded}/${r.etcdutl}`).join(', ')}`);
      expect(rounds.map((r) => r.recorded)).toEqual(rounds.map((r) => r.etcdutl));
      expect(rounds.every((r) => r.recorded >= r.before)).toBe(true);
    } finally {
      writing = false;
      await Promise.allSettled(writers);
      client.close();
    }
  });

  // After a compaction the recorded revision is still the member's: the file's compaction marks
  // (meta bucket) are read beside its newest key, as etcd does when it opens a restored member.
  it('records the member\'s revision after a compaction, quiet, as etcdutl does', async () => {
    expect((await cluster.etcdctl(['put', 'gone', 'soon'])).code).toBe(0);
    expect((await cluster.etcdctl(['del', 'gone'])).code).toBe(0);
    const current = (JSON.parse((await cluster.etcdctl(['get', 'gone', '-w', 'json'])).stdout) as { header: { revision: number } }).header.revision;
    await admin.compact(BigInt(current));
    const member = (await observeMembers(admin, endpoints())).candidates[0]!;
    const got = await snapshotOf(member, join(cluster.dir, 'compacted.db'));
    expect(got).toEqual({ before: current, recorded: current, etcdutl: current });
  });

  it('reports quorum lost when two of three members are down', async () => {
    const [, second, third] = [...cluster.members.keys()];
    await cluster.stopMember(second!);
    await cluster.stopMember(third!);
    const health = await observeMembers(admin, endpoints());
    expect(health.quorum).toBe('lost');
  });
});
