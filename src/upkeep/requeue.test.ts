import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { FakeEtcdAdmin } from '../../test/unit/etcd/fake.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import { observeEtcd } from '../controller/observe-etcd.js';
import { sampleCluster } from '../resources/fixtures.js';
import { Upkeep } from './index.js';

// How soon upkeep asks to look again on a quiet cluster. Every pass of every cluster costs an
// etcd round trip and CPU, so with hundreds of clusters a wrong "look again in 1 s" is the
// operator's whole CPU budget (bench/many-clusters.ts).
const ref = { namespace: 'db', name: 'main' };
const log = winston.createLogger({ silent: true });
const writer = { event: () => Promise.resolve() } as unknown as KubeWriter;
const member = (i: number) => ({ name: `main-${i}`, peerURL: `https://main-${i}.main-peer.db.svc:2380`, clientURL: `https://main-${i}.main-peer.db.svc:2379` });

function setup(replicas: number) {
  const etcd = new FakeEtcdAdmin(Array.from({ length: replicas }, (_, i) => member(i)));
  const upkeep = new Upkeep();
  const cluster = sampleCluster({ replicas });
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const pass = async (advanceMs: number) => {
    clock += advanceMs;
    return upkeep.pass({ key: 'db/main', cluster, ref, admin: etcd, etcd: await observeEtcd(etcd, ref), idle: true, writer, log, now: new Date(clock) });
  };
  return { etcd, pass, upkeep };
}

describe('upkeep requeue on a quiet cluster', () => {
  it('a one-member cluster (nothing to compare) asks for no early pass', async () => {
    const { pass } = setup(1);
    for (let i = 0; i < 3; i++) expect((await pass(30_000)).requeueAfterMs).toBe(Infinity);
  });

  it('three healthy members: checked at once, then the next check at its interval (5 min)', async () => {
    const { etcd, pass, upkeep } = setup(3);
    etcd.divergent.add((await etcd.memberList()).members[2]!.id);
    // The check ran on the first pass: it found the diverged copy and keeps its verdict.
    expect((await pass(0)).requeueAfterMs).toBe(5 * 60_000);
    expect((await pass(30_000)).requeueAfterMs).toBe(4.5 * 60_000);
    expect(upkeep.gate('db/main')).toMatchObject({ kind: 'awaitDecision', decision: { source: 'hashKV' } });
  });

  it('a member down: the check waits for it without polling every second', async () => {
    const { etcd, pass } = setup(3);
    const down = (await etcd.memberList()).members[2]!.id;
    etcd.setDown(down);
    expect((await pass(0)).requeueAfterMs).toBe(Infinity);
    etcd.setDown(down, false);
    expect((await pass(30_000)).requeueAfterMs).toBe(5 * 60_000);
  });
});
