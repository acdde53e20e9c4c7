import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { FakeEtcdAdmin } from '../../test/unit/etcd/fake.js';
import type { KubeWriter } from '../controller/kube-writer.js';
import { observeEtcd } from '../controller/observe-etcd.js';
import { sampleCluster } from '../resources/fixtures.js';
import client from 'prom-client';
import { Upkeep } from './index.js';
import { UpkeepMetrics } from './metrics.js';

// Upkeep over the fake etcd, pass after pass, as the reconciler drives it: what it does to the
// cluster (sizes, leader, alarms) and what it says (events, problems), not which calls it made.
const Mi = 1024 * 1024;
const ref = { namespace: 'db', name: 'main' };
const log = winston.createLogger({ silent: true });
const voters = [0, 1, 2].map((i) => ({ name: `main-${i}`, peerURL: `https://main-${i}.main-peer.db.svc:2380`, clientURL: `https://main-${i}.main-peer.db.svc:2379` }));

function setup(options: Record<string, string> = {}) {
  const etcd = new FakeEtcdAdmin(voters);
  const events: { reason: string; message: string }[] = [];
  const writer = { event: (_c: unknown, _t: string, reason: string, message: string) => Promise.resolve(void events.push({ reason, message })) } as unknown as KubeWriter;
  const registry = new client.Registry();
  const upkeep = new Upkeep(new UpkeepMetrics(registry));
  const cluster = sampleCluster({ options });
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const pass = async (idle = true) => {
    clock += 1_000;
    const view = await observeEtcd(etcd, ref);
    return upkeep.pass({ key: 'db/main', cluster, ref, admin: etcd, etcd: view, idle, writer, log, now: new Date(clock) });
  };
  const ids = async () => (await etcd.memberList()).members.map((m) => m.id);
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await registry.getSingleMetric(name)!.get()).values;
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
  };
  return { etcd, events, upkeep, pass, ids, metric, advance: (ms: number) => (clock += ms) };
}

describe('upkeep passes over a fake cluster', () => {
  it('defragments followers first and the leader last, after moving leadership; each once', async () => {
    const { etcd, events, pass, ids, metric } = setup();
    const [a, b, c] = await ids();
    const leader = etcd.leaderId;
    for (const id of [a!, b!, c!]) etcd.setSize(id, 300 * Mi, 60 * Mi);
    for (let i = 0; i < 8; i++) await pass();
    expect(etcd.defragmented).toHaveLength(3);
    expect(etcd.defragmented.at(-1)).toBe(leader);
    expect(etcd.leaderId).not.toBe(leader);
    expect(events.map((e) => e.reason)).toEqual(['Defragmented', 'Defragmented', 'MovedLeader', 'Defragmented']);
    expect((await etcd.statusAll()).map((p) => ('status' in p ? p.status.dbSize : 0))).toEqual([60 * Mi, 60 * Mi, 60 * Mi]);
    expect(await metric('etcd_operator_cluster_defragmentations_total', { reason: 'fragmented' })).toBe(3);
  });

  it('waits for a follower still applying a compaction, but not for good: leadership moves after the wait', async () => {
    const { etcd, events, pass, ids, advance } = setup();
    const leader = etcd.leaderId;
    const [other, stuck] = (await ids()).filter((id) => id !== leader);
    etcd.setSize(leader, 300 * Mi, 50 * Mi);
    etcd.setSize(other!, 60 * Mi, 40 * Mi);
    // As if a long read held its pages: it never comes down to the leader's bytes in use.
    etcd.setSize(stuck!, 300 * Mi, 290 * Mi);
    const first = await pass();
    const names = Object.fromEntries((await etcd.memberList()).members.map((m) => [m.id, m.name]));
    expect(first.step).toEqual({ kind: 'wait', reason: 'compactionApplying', applying: { forMember: names[leader], followers: [names[stuck!]] } });
    expect(first.requeueAfterMs).toBe(2_000);
    // Said in status as part of the defragmentation under way.
    expect(first.progress?.message).toMatch(new RegExp(`^defragmenting ${names[leader]} once leadership moves; waiting up to 60 s for ${names[stuck!]} to apply the compaction`));
    advance(50_000);
    expect((await pass()).step).toMatchObject({ kind: 'wait', reason: 'compactionApplying' });
    advance(10_000);
    for (let i = 0; i < 3; i++) await pass();
    expect(events.map((e) => e.reason)).toEqual(['MovedLeader', 'Defragmented']);
    expect(etcd.defragmented).toEqual([leader]);
    expect(etcd.leaderId).not.toBe(leader);
  });

  it('reads alarms through raft only when a Status lists one or a member is silent (an AlarmList is a raft entry on every member)', async () => {
    const { etcd, pass, ids } = setup();
    const all = await ids();
    await pass();
    // Every member answered, none lists an alarm: no read through raft, so its failure is not seen.
    etcd.failNext('alarmList', 'Unavailable');
    expect((await pass()).requeueAfterMs).not.toBe(2_000);
    // A member silent: read through raft (the failure armed above is met now), asked again in 2 s.
    etcd.setDown(all[2]!);
    expect((await pass()).requeueAfterMs).toBe(2_000);
    etcd.setDown(all[2]!, false);
    // An alarm listed in Status: read through raft, and reported.
    etcd.alarms = [{ memberId: all[0]!, alarm: 'NOSPACE' }];
    expect((await pass()).problems.map((p) => p.reason)).toEqual(['NoSpace']);
  });

  it('does nothing while membership is busy', async () => {
    const { etcd, pass, ids } = setup();
    for (const id of await ids()) etcd.setSize(id, 300 * Mi, 60 * Mi);
    expect((await pass(false)).step).toEqual({ kind: 'wait', reason: 'membershipBusy' });
    expect(etcd.defragmented).toEqual([]);
  });

  it('NOSPACE: reports it, compacts, waits for the user while data fills the quota, then recovers once data is deleted', async () => {
    const { etcd, events, pass, ids, metric } = setup({ 'quota-backend-bytes': String(16 * Mi) });
    const all = await ids();
    for (const id of all) etcd.setSize(id, 16 * Mi, 15.9 * Mi);
    etcd.alarms = [{ memberId: all[0]!, alarm: 'NOSPACE' }];
    const first = await pass();
    expect(first.step).toEqual({ kind: 'compact', revision: 1000n });
    expect(first.problems.map((p) => p.reason)).toEqual(['NoSpace']);
    expect(await metric('etcd_operator_cluster_alarm', { alarm: 'NOSPACE' })).toBe(1);
    // Each file above the disarm level is defragmented once after the compaction (the free bytes
    // etcd reports may not count what the compaction freed), then the operator waits for the user.
    let stuck = await pass();
    for (let i = 0; i < 6 && stuck.step.kind !== 'wait'; i++) stuck = await pass();
    expect(stuck.step).toEqual({ kind: 'wait', reason: 'noSpaceNeedsUser' });
    expect(new Set(etcd.defragmented)).toEqual(new Set(all));
    expect((await pass()).step).toEqual({ kind: 'wait', reason: 'noSpaceNeedsUser' });
    expect(stuck.problems[0]!.message).toContain('raise spec.options.quota-backend-bytes');
    // The user deletes most keys: a new revision, and after compaction little is in use.
    etcd.revision += 500n;
    for (const id of all) etcd.setSize(id, 16 * Mi, 2 * Mi);
    let last;
    for (let i = 0; i < 8 && etcd.alarms.length > 0; i++) last = await pass();
    expect(etcd.alarms).toEqual([]);
    expect(last?.step.kind).toBe('disarm');
    expect(etcd.compactRevision).toBe(1500n);
    const round = ['Defragmented', 'Defragmented', 'MovedLeader', 'Defragmented'];
    expect(events.map((e) => e.reason)).toEqual(['Compacted', ...round, 'Compacted', ...round, 'AlarmDisarmed']);
    expect((await pass()).problems).toEqual([]);
    expect(await metric('etcd_operator_cluster_alarm', { alarm: 'NOSPACE' })).toBe(0);
  });

  it('a HashKV mismatch gates membership and stops defragmentation; members agreeing again lifts it', async () => {
    const { etcd, upkeep, pass, ids, advance, metric } = setup();
    const all = await ids();
    await pass();
    expect(upkeep.gate('db/main')).toBeUndefined();
    etcd.divergent.add(all[2]!);
    advance(5 * 60_000);
    for (const id of all) etcd.setSize(id, 300 * Mi, 60 * Mi);
    const outcome = await pass();
    expect(outcome.step).toEqual({ kind: 'wait', reason: 'inconsistent' });
    expect(upkeep.gate('db/main')).toEqual({ kind: 'awaitDecision', decision: { reason: 'dataInconsistent', source: 'hashKV', members: ['main-2'] } });
    expect(etcd.defragmented).toEqual([]);
    expect(await metric('etcd_operator_cluster_data_inconsistent')).toBe(1);
    // Not checked again before the interval: still gated.
    etcd.divergent.clear();
    await pass();
    expect(upkeep.gate('db/main')).toBeDefined();
    advance(5 * 60_000);
    await pass();
    expect(upkeep.gate('db/main')).toBeUndefined();
    expect(await metric('etcd_operator_cluster_data_inconsistent')).toBe(0);
  });

  it('a CORRUPT alarm gates membership and is never disarmed by the operator', async () => {
    const { etcd, upkeep, pass, ids } = setup();
    const all = await ids();
    etcd.alarms = [{ memberId: all[1]!, alarm: 'CORRUPT' }];
    await pass();
    const gate = upkeep.gate('db/main');
    expect(gate).toMatchObject({ kind: 'awaitDecision', decision: { reason: 'dataInconsistent', source: 'corruptAlarm' } });
    for (let i = 0; i < 3; i++) await pass();
    expect(etcd.alarms).toHaveLength(1);
  });

  it('a CORRUPT alarm in the statuses holds the very pass that sees it, before any upkeep pass', async () => {
    const { etcd, upkeep, ids } = setup();
    const all = await ids();
    etcd.alarms = [{ memberId: all[1]!, alarm: 'CORRUPT' }];
    const view = await observeEtcd(etcd, ref);
    expect(upkeep.gate('db/main')).toBeUndefined();
    expect(upkeep.gate('db/main', view)).toMatchObject({ kind: 'awaitDecision', decision: { reason: 'dataInconsistent', source: 'corruptAlarm', members: [BigInt(all[1]!).toString(16)] } });
  });
});
