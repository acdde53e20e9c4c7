import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Etcd3 } from 'etcd3';
import { createEtcdAdmin } from '../../src/etcd/client.js';
import { connectEndpoint } from '../../src/etcd/connection.js';
import { EtcdAdminError } from '../../src/etcd/errors.js';
import type { EtcdAdmin } from '../../src/etcd/types.js';
import { type EtcdTestCluster, startEtcdCluster } from '../harness/etcd-cluster.js';

// The admin calls upkeep relies on, against one real etcd 3.6 member with mutual TLS and a small
// quota: the current revision, HashKV (etcd3's own hashKV method cannot reach the server; see
// client.ts), compaction (twice is no error), defragmentation, the NOSPACE alarm and its disarm.
const Mi = 1024 * 1024;
let cluster: EtcdTestCluster;
let admin: EtcdAdmin;
let kv: Etcd3;
let endpoint: string;

async function rejection(call: Promise<unknown>): Promise<EtcdAdminError> {
  const outcome = await call.then(() => undefined, (err: unknown) => err);
  expect(outcome).toBeInstanceOf(EtcdAdminError);
  return outcome as EtcdAdminError;
}

beforeAll(async () => {
  cluster = await startEtcdCluster({ size: 1, label: 'etcd-upkeep', flags: [`--quota-backend-bytes=${8 * Mi}`] });
  const { trustedCaPem, client } = cluster.pki;
  const tls = { caPem: trustedCaPem, certPem: client.certPem, keyPem: client.keyPem };
  admin = createEtcdAdmin({ endpoints: cluster.endpoints(), tls, callTimeoutMs: 5_000 });
  endpoint = cluster.endpoints()[0]!;
  // Each call sent once: etcd3's default circuit breaker would refuse calls after NOSPACE errors.
  kv = connectEndpoint(endpoint, tls);
});

afterAll(async () => {
  kv?.close();
  admin?.close();
  await cluster?.stop();
});

describe('upkeep calls against real etcd', () => {
  it('reads the revision and hashes the keys at it; compacting twice is no error', async () => {
    await kv.put('a').value('1');
    const revision = await admin.currentRevision();
    const before = await admin.hashKV(endpoint, revision);
    expect(before).toMatchObject({ endpoint, revision, compactRevision: -1n });
    expect(before.hash).toMatch(/^\d+$/);
    expect(await admin.hashKV(endpoint, revision)).toEqual(before);
    expect((await rejection(admin.hashKV(endpoint, revision + 100n))).kind).toBe('FutureRevision');
    await admin.compact(revision);
    await admin.compact(revision); // already compacted: the same outcome, no error
    await kv.put('b').value('2');
    expect((await admin.hashKV(endpoint, 0n)).revision).toBe(revision + 1n);
  });

  it('fills the quota until NOSPACE, lists the alarm, and after delete, compaction and defragmentation disarms it', async () => {
    const value = Buffer.alloc(256 * 1024, 'x');
    let refused = false;
    // etcd judges the quota by its database file, which grows when a batch commits (every 100 ms):
    // on a quiet machine 64 puts in a row could all land before it grew (CI, 2026-12-01), so pause
    // for a commit every few puts, and allow up to five times the quota.
    for (let i = 0; i < 160 && !refused; i++) {
      await kv.put(`bulk/${i}`).value(value).catch(() => (refused = true));
      if (i % 8 === 7) await new Promise((r) => setTimeout(r, 150));
    }
    expect(refused).toBe(true);
    const alarms = await admin.alarmList();
    expect(alarms).toEqual([{ memberId: (await admin.status(endpoint)).memberId, alarm: 'NOSPACE' }]);
    expect((await admin.status(endpoint)).errors.join()).toContain('alarm:NOSPACE');
    await kv.delete().prefix('bulk/');
    await admin.compact(await admin.currentRevision());
    const full = (await admin.status(endpoint)).dbSize;
    await admin.defragment(endpoint);
    const small = (await admin.status(endpoint)).dbSize;
    console.log(`defragmented: ${full} -> ${small} bytes`);
    expect(small).toBeLessThan(full / 2);
    await admin.alarmDisarm(alarms[0]!);
    expect(await admin.alarmList()).toEqual([]);
    await kv.put('after').value('accepted');
  });
});
