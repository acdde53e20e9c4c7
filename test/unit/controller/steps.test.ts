import type { V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import type { EtcdCluster } from '../../../src/api/types.generated.js';
import type { MembershipStep } from '../../../src/controller/membership.js';
import { type StepContext, act } from '../../../src/controller/steps.js';
import { FakeClock } from '../../../src/runtime/clock.js';
import { sampleCluster } from '../../../src/resources/fixtures.js';
import { type MembershipConfig, parseMembershipConfig } from '../../../src/resources/membership-config.js';
import { memberPeerUrl, names } from '../../../src/resources/names.js';
import { FakeEtcdAdmin } from '../etcd/fake.js';
import { FakeCache, RecordingWriter } from './fakes.js';
import { clientUrl, ref } from './world.js';

// Each step kind, acted on against the fake writer and etcd: what it changes in etcd and in
// Kubernetes, in which order, and what it says. One step is one change (plus its bookkeeping).

const log = winston.createLogger({ silent: true });
const now = new Date('2026-01-01T00:00:00Z');
const hex = (id: string) => BigInt(id).toString(16);

function setup(spec: Partial<EtcdCluster['spec']> = {}, live?: V1StatefulSet) {
  const cache = new FakeCache();
  const writer = new RecordingWriter(cache, new FakeClock());
  const etcd = new FakeEtcdAdmin([0, 1, 2].map((i) => ({ name: names.member(ref, i), peerURL: memberPeerUrl(ref, i, 'cluster.local'), clientURL: clientUrl(i) })));
  const ids = etcd.view().map((m) => m.id);
  const ctx = (over: Partial<StepContext> = {}): StepContext => ({
    cluster: sampleCluster(spec), ref, domain: 'cluster.local', memberInitImage: 'etcd-operator:unit', writer, admin: etcd,
    records: { 'uid-pvc-0': ids[0]! }, learners: {}, ordinals: [0, 1, 2], trustBundleHash: 'hash', live, log, now, ...over,
  });
  const writes = () => writer.writes.map((w) => `${w.op} ${w.what}`);
  const membership = () => parseMembershipConfig(cache.get('ConfigMap', 'db', names.membershipConfig(ref)) as never) as MembershipConfig;
  return { cache, writer, etcd, ids, ctx, writes, membership };
}

describe('StatefulSet steps', () => {
  it.each([
    [{ kind: 'createStatefulSet', replicas: 3, bootstrap: true }, 'StatefulSetCreated'],
    [{ kind: 'scaleStatefulSet', replicas: 4, reason: 'startLearner' }, 'StatefulSetScaled'],
  ] as [MembershipStep, string][])('%j applies the StatefulSet at its replicas and says so', async (step, event) => {
    const { cache, ctx, writes } = setup();
    expect(await act(step, ctx())).toBe('acted');
    expect(writes()).toEqual(['apply StatefulSet/main', `event Normal/${event}`]);
    expect(cache.get('StatefulSet', 'db', 'main')?.spec?.replicas).toBe((step as { replicas: number }).replicas);
  });

  it('a scale keeps the live claim templates, which the API server forbids changing', async () => {
    const live = { spec: { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] } } as unknown as V1StatefulSet;
    const { cache, ctx } = setup({}, live);
    await act({ kind: 'scaleStatefulSet', replicas: 2, reason: 'shrink' }, ctx());
    expect(cache.get('StatefulSet', 'db', 'main')?.spec?.volumeClaimTemplates).toEqual(live.spec!.volumeClaimTemplates);
  });
});

describe('membership steps', () => {
  it('addLearner announces the new member before adding it, then records the learner and its start', async () => {
    const { etcd, ctx, writes, membership } = setup();
    expect(await act({ kind: 'addLearner', ordinal: 3 }, ctx())).toBe('acted');
    expect(writes()).toEqual(['apply ConfigMap/main-membership', 'apply ConfigMap/main-membership', 'event Normal/MemberAdded']);
    const learner = etcd.view().find((m) => m.isLearner)!;
    expect(learner.peerURLs).toEqual([memberPeerUrl(ref, 3, 'cluster.local')]);
    expect(membership()).toMatchObject({ state: 'existing', ordinals: [0, 1, 2, 3], learner: { memberId: learner.id, ordinal: 3, addedAt: now.toISOString() }, memberVolumes: { 'uid-pvc-0': etcd.view()[0]!.id } });
  });

  it('a change etcd refuses for now (not applied) is a wait: notReady, and etcd unchanged', async () => {
    const { etcd, ctx } = setup();
    etcd.setDown(etcd.view()[2]!.id);
    expect(await act({ kind: 'addLearner', ordinal: 3 }, ctx())).toBe('notReady');
    expect(etcd.view()).toHaveLength(3);
  });

  it('a change that may have been applied is thrown, never taken for a wait', async () => {
    const { etcd, ids, ctx, writes } = setup();
    etcd.failNext('memberRemove', 'DeadlineExceeded');
    await expect(act({ kind: 'removeMember', memberId: ids[2]!, ordinal: 2, reason: 'scaleDown' }, ctx())).rejects.toMatchObject({ kind: 'DeadlineExceeded', maybeApplied: true });
    expect(writes()).toEqual([]);
  });

  it('promoteLearner waits for a learner not caught up, then promotes it', async () => {
    const { etcd, ctx, writes } = setup();
    const { member } = await etcd.memberAddLearner([memberPeerUrl(ref, 3, 'cluster.local')]);
    etcd.startMember(member.id, names.member(ref, 3), clientUrl(3));
    const step: MembershipStep = { kind: 'promoteLearner', memberId: member.id, ordinal: 3 };
    expect(await act(step, ctx())).toBe('notReady');
    etcd.setCaughtUp(member.id);
    expect(await act(step, ctx())).toBe('acted');
    expect(etcd.view().every((m) => !m.isLearner)).toBe(true);
    expect(writes()).toEqual(['event Normal/MemberPromoted']);
  });

  it('moveLeader hands leadership over', async () => {
    const { etcd, ids, ctx, writer } = setup();
    await act({ kind: 'moveLeader', fromId: ids[0]!, toId: ids[1]! }, ctx());
    expect(etcd.leaderId).toBe(ids[1]);
    expect(writer.writes.at(-1)).toMatchObject({ what: 'Normal/LeaderMoved', message: `moved leadership from ${hex(ids[0]!)} to ${hex(ids[1]!)}` });
  });

  it.each([
    ['scaleDown', 'MemberRemoved'],
    ['dataLost', 'LostMemberRemoved'],
  ] as const)('removeMember (%s) removes it and announces the membership without it', async (reason, event) => {
    const { etcd, ids, ctx, writer, membership } = setup();
    await act({ kind: 'removeMember', memberId: ids[2]!, ordinal: 2, reason }, ctx());
    expect(etcd.view().map((m) => m.id)).toEqual(ids.slice(0, 2));
    expect(membership().ordinals).toEqual([0, 1]);
    expect(writer.events('Normal')).toEqual([event]);
  });

  // Seen on the real harness: a volume emptied in place (the same PVC), its member removed as
  // dataLost, then the record made that empty volume read as the removed member's retained log,
  // and the operator waited for the user (RetainedVolume) instead of adding a new member.
  it('removeMember (dataLost) drops the member\'s volume records before removing it; a scale-down keeps them', async () => {
    const lost = setup();
    await act({ kind: 'removeMember', memberId: lost.ids[0]!, ordinal: 0, reason: 'dataLost' }, lost.ctx({ records: { 'uid-pvc-0': lost.ids[0]!, 'uid-pvc-1': lost.ids[1]! } }));
    expect(lost.writes()).toEqual(['apply ConfigMap/main-membership', 'apply ConfigMap/main-membership', 'event Normal/LostMemberRemoved']);
    expect(lost.membership().memberVolumes).toEqual({ 'uid-pvc-1': lost.ids[1]! });
    const down = setup();
    await act({ kind: 'removeMember', memberId: down.ids[0]!, ordinal: 0, reason: 'scaleDown' }, down.ctx());
    expect(down.membership().memberVolumes).toEqual({ 'uid-pvc-0': down.ids[0]! });
  });

  it('recordLearnerTimeout writes the retry record and changes nothing in etcd', async () => {
    const { etcd, ctx, writes, membership } = setup();
    const retry = { memberId: '1', ordinal: 3, addedAt: now.toISOString(), why: 'notStarted' as const, failures: 1, retryAt: '2026-01-01T00:10:00.000Z' };
    await act({ kind: 'recordLearnerTimeout', retry }, ctx());
    expect(writes()).toEqual(['apply ConfigMap/main-membership']);
    expect(membership().learnerRetry).toEqual(retry);
    expect(etcd.view()).toHaveLength(3);
  });

  it.each([
    ['timedOut', 'Warning', 'LearnerTimedOut'],
    ['scaleDown', 'Normal', 'LearnerRemoved'],
  ] as const)('removeLearner (%s) removes it and sends %s %s', async (reason, type, event) => {
    const { etcd, ctx, writer, membership } = setup();
    const { member } = await etcd.memberAddLearner([memberPeerUrl(ref, 3, 'cluster.local')]);
    const retry = reason === 'timedOut' ? { memberId: member.id, ordinal: 3, addedAt: now.toISOString(), why: 'notStarted' as const, failures: 1, retryAt: '2026-01-01T00:10:00.000Z' } : undefined;
    await act({ kind: 'removeLearner', memberId: member.id, ordinal: 3, reason, ...(retry ? { retry } : {}) }, ctx());
    expect(etcd.view()).toHaveLength(3);
    expect(membership()).toMatchObject({ ordinals: [0, 1, 2], ...(retry ? { learnerRetry: retry } : {}) });
    expect(writer.events(type)).toEqual([event]);
  });
});

describe('volume and pod steps', () => {
  it.each([
    [{}, 'reclaimed', 'delete PersistentVolumeClaim/data-main-3', 'ReclaimedVolumeDeleted'],
    [{}, 'stale', 'delete PersistentVolumeClaim/data-main-3', 'StaleVolumeDeleted'],
    [{ storage: { type: 'EmptyDir', size: '1Gi' } }, 'stale', 'delete Pod/main-3', 'StaleVolumeDeleted'],
  ] as [Partial<EtcdCluster['spec']>, 'reclaimed' | 'stale', string, string][])('deleteVolume %j %s: %s', async (spec, reason, deleted, event) => {
    const { etcd, ctx, writes } = setup(spec);
    await act({ kind: 'deleteVolume', ordinal: 3, reason }, ctx());
    expect(writes()).toEqual([deleted, `event Normal/${event}`]);
    expect(etcd.view()).toHaveLength(3);
  });

  it('deleteVolume inside the StatefulSet deletes the pod that would hold the claim forever too', async () => {
    const live = { spec: { replicas: 3 } } as unknown as V1StatefulSet;
    const { ctx, writes, writer } = setup({}, live);
    await act({ kind: 'deleteVolume', ordinal: 1, reason: 'stale' }, ctx());
    expect(writes()).toEqual(['delete PersistentVolumeClaim/data-main-1', 'delete Pod/main-1', 'event Normal/StaleVolumeDeleted']);
    expect(writer.writes.at(-1)?.message).toBe('deleted the volume of ordinal 1 and its pod main-1, left by a removed member');
  });

  it('restartMember deletes its pod and names the version it restarts to', async () => {
    const { ids, ctx, writer, writes } = setup();
    await act({ kind: 'restartMember', memberId: ids[1]!, ordinal: 1, toVersion: '3.6.16' }, ctx());
    expect(writes()).toEqual(['delete Pod/main-1', 'event Normal/MemberRestarted']);
    expect(writer.writes.at(-1)?.message).toBe(`restarted main-1 (${hex(ids[1]!)}) to run etcd 3.6.16`);
  });
});

describe('steps that change nothing', () => {
  it.each([
    { kind: 'none' },
    { kind: 'wait', reason: 'quorumLost' },
    { kind: 'awaitDecision', decision: { reason: 'volumesPredateCluster', ordinals: [0] } },
  ] as MembershipStep[])('%j is idle and writes nothing', async (step) => {
    const { etcd, ctx, writes } = setup();
    expect(await act(step, ctx())).toBe('idle');
    expect(writes()).toEqual([]);
    expect(etcd.view()).toHaveLength(3);
  });

  it('an etcd step without an etcd client (no operator certificate yet) throws before writing', async () => {
    const { ids, ctx, writes } = setup();
    await expect(act({ kind: 'promoteLearner', memberId: ids[0]!, ordinal: 0 }, ctx({ admin: undefined }))).rejects.toThrow('no etcd client');
    expect(writes()).toEqual([]);
  });
});
