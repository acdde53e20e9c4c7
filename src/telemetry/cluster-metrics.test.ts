import type { V1Secret } from '@kubernetes/client-node';
import client from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Condition } from '../api/types.generated.js';
import type { EtcdView, MemberView } from '../controller/observe-etcd.js';
import type { EndpointStatus } from '../etcd/types.js';
import { buildTlsSecret } from '../pki/secrets.js';
import { issue } from '../pki/x509.js';
import { sampleCluster } from '../resources/fixtures.js';
import { names } from '../resources/names.js';
import { ClusterMetrics, type ClusterSnapshot, certificateExpiries, defaultQuotaBytes, quotaBytesOf, snapshotOf } from './cluster-metrics.js';

const ref = { name: 'main', namespace: 'db' };
const now = Date.parse('2026-11-23T12:00:00Z');

function status(id: string, leaderId: string, dbSize = 1 << 20): EndpointStatus {
  return { endpoint: '', clusterId: '99', memberId: id, leaderId, raftIndex: 10n, raftAppliedIndex: 10n, raftTerm: 2n, dbSize, dbSizeInUse: dbSize / 2, version: '3.6.16', isLearner: false, errors: [] };
}

function member(ordinal: number, over: Partial<MemberView> = {}, leaderId = '1000'): MemberView {
  const id = String(1000 + ordinal);
  return { id, name: `main-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: status(id, leaderId, (ordinal + 1) << 20), healthy: true, isLeader: id === leaderId, problem: undefined, ...over };
}

const withTerm = (raftTerm: bigint) => (m: MemberView): MemberView => ({ ...m, status: m.status && { ...m.status, raftTerm } });
const down = (ordinal: number) => member(ordinal, { healthy: false, status: undefined, problem: 'not answering', isLeader: false });
const view = (leaderId: string | undefined, ...members: MemberView[]): EtcdView => ({ clusterId: '99', members, leaderId, quorumConfirmed: true });
const snapshot = (etcd: EtcdView | undefined, over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({ ref, desiredMembers: 3, quotaBytes: defaultQuotaBytes, etcd, formed: true, quorumLost: false, certificates: {}, ...over });

/** The registry's samples as `name{labels} value` lines, for readable assertions. */
async function samples(registry: client.Registry, prefix = 'etcd_operator_'): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (!metric.name.startsWith(prefix)) continue;
    for (const v of (metric as unknown as { values: { labels: Record<string, string | number>; value: number }[] }).values) {
      const labels = Object.entries(v.labels).map(([k, x]) => `${k}=${String(x)}`).join(',');
      out.set(`${metric.name}{${labels}}`, v.value);
    }
  }
  return out;
}

const c = 'namespace=db,cluster=main';

describe('ClusterMetrics', () => {
  let registry: client.Registry;
  let metrics: ClusterMetrics;
  beforeEach(() => {
    registry = new client.Registry();
    metrics = new ClusterMetrics(registry, () => now);
  });

  it('records a healthy 3-member cluster: counts, leader, margin 1, sizes and quota fraction', async () => {
    expect(metrics.record(snapshot(view('1000', member(0), member(1), member(2))))).toEqual([]);
    metrics.reconciled(ref, new Date(now));
    const s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_desired_members{${c}}`)).toBe(3);
    expect(s.get(`etcd_operator_cluster_members{${c}}`)).toBe(3);
    expect(s.get(`etcd_operator_cluster_ready_members{${c}}`)).toBe(3);
    expect(s.get(`etcd_operator_cluster_learner_members{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_cluster_has_leader{${c}}`)).toBe(1);
    expect(s.get(`etcd_operator_cluster_quorum_margin{${c}}`)).toBe(1);
    expect(s.get(`etcd_operator_cluster_leader_changes_total{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_cluster_db_quota_bytes{${c}}`)).toBe(2 ** 31);
    expect(s.get(`etcd_operator_cluster_last_reconcile_success_timestamp_seconds{${c}}`)).toBe(now / 1000);
    expect(s.get(`etcd_operator_member_healthy{${c},member=main-1}`)).toBe(1);
    expect(s.get(`etcd_operator_member_is_leader{${c},member=main-0}`)).toBe(1);
    expect(s.get(`etcd_operator_member_is_leader{${c},member=main-1}`)).toBe(0);
    expect(s.get(`etcd_operator_member_db_size_bytes{${c},member=main-2}`)).toBe(3 << 20);
    expect(s.get(`etcd_operator_member_db_size_in_use_bytes{${c},member=main-2}`)).toBe(1.5 * (1 << 20));
    expect(s.get(`etcd_operator_member_db_quota_fraction{${c},member=main-1}`)).toBe((2 << 20) / 2 ** 31);
  });

  it('lowers ready and margin when a member stops answering, keeps its last size, and reports the flip once', async () => {
    metrics.record(snapshot(view('1000', member(0), member(1), member(2))));
    expect(metrics.record(snapshot(view('1000', member(0), down(1), member(2))))).toEqual([{ member: 'main-1', healthy: false, problem: 'not answering' }]);
    expect(metrics.record(snapshot(view('1000', member(0), down(1), member(2))))).toEqual([]);
    let s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_ready_members{${c}}`)).toBe(2);
    expect(s.get(`etcd_operator_cluster_quorum_margin{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_member_healthy{${c},member=main-1}`)).toBe(0);
    expect(s.get(`etcd_operator_member_db_size_bytes{${c},member=main-1}`)).toBe(2 << 20);
    expect(metrics.record(snapshot(view('1000', member(0), member(1), member(2))))).toEqual([{ member: 'main-1', healthy: true, problem: undefined }]);
    s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_quorum_margin{${c}}`)).toBe(1);
  });

  it('counts an election by the raft term, not a pass without a leader', async () => {
    metrics.record(snapshot(view('1000', member(0), member(1), member(2))));
    metrics.record(snapshot(view(undefined, member(0, { isLeader: false }), member(1), member(2))));
    let s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_has_leader{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_cluster_leader_changes_total{${c}}`)).toBe(0);
    metrics.record(snapshot(view('1001', ...[0, 1, 2].map((o) => member(o, {}, '1001')).map(withTerm(3n)))));
    s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_leader_changes_total{${c}}`)).toBe(1);
    expect(s.get(`etcd_operator_member_is_leader{${c},member=main-1}`)).toBe(1);
  });

  it.each([
    ['the leader moved away and back between passes (same leader ID)', ['1000', 2n], ['1000', 4n], 2],
    ['the same member elected again after an election timeout', ['1000', 2n], ['1000', 3n], 1],
    ['two elections between passes, a new leader', ['1000', 2n], ['1002', 4n], 2],
    ['no election: the term did not move', ['1000', 2n], ['1000', 2n], 0],
    ['a cluster made anew (restore): a lower term only sets the base', ['1000', 9n], ['1000', 2n], 0],
  ] as const)('elections missed by a leader ID compared between passes: %s', async (_n, [leaderA, termA], [leaderB, termB], expected) => {
    metrics.record(snapshot(view(leaderA, ...[0, 1, 2].map((o) => member(o, {}, leaderA)).map(withTerm(termA)))));
    metrics.record(snapshot(view(leaderB, ...[0, 1, 2].map((o) => member(o, {}, leaderB)).map(withTerm(termB)))));
    expect((await samples(registry)).get(`etcd_operator_cluster_leader_changes_total{${c}}`)).toBe(expected);
  });

  it('an election seen only by the members that answer still counts (the term survives a member down)', async () => {
    metrics.record(snapshot(view('1000', ...[0, 1, 2].map((o) => member(o)))));
    metrics.record(snapshot(view('1001', down(0), ...[1, 2].map((o) => member(o, {}, '1001')).map(withTerm(3n)))));
    expect((await samples(registry)).get(`etcd_operator_cluster_leader_changes_total{${c}}`)).toBe(1);
  });

  it('counts learners apart from voters: a learner does not widen the margin', async () => {
    const learner = member(3, { isLearner: true, name: '', started: false, healthy: false, status: undefined, problem: 'not started' });
    metrics.record(snapshot(view('1000', member(0), member(1), member(2), learner), { desiredMembers: 5 }));
    const s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_members{${c}}`)).toBe(4);
    expect(s.get(`etcd_operator_cluster_learner_members{${c}}`)).toBe(1);
    expect(s.get(`etcd_operator_cluster_quorum_margin{${c}}`)).toBe(1);
    // Not started: labelled by the pod it will run in.
    expect(s.get(`etcd_operator_member_is_learner{${c},member=main-3}`)).toBe(1);
  });

  it('with no member answering: no leader, nobody ready, quorum lost, every healthy member flips', async () => {
    metrics.record(snapshot(view('1000', member(0), member(1), member(2))));
    const flips = metrics.record(snapshot(undefined, { quorumLost: true }));
    expect(flips.map((f) => f.member)).toEqual(['main-0', 'main-1', 'main-2']);
    const s = await samples(registry);
    expect(s.get(`etcd_operator_cluster_has_leader{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_cluster_ready_members{${c}}`)).toBe(0);
    expect(s.get(`etcd_operator_cluster_quorum_margin{${c}}`)).toBe(-2);
    expect(s.get(`etcd_operator_cluster_quorum_lost{${c}}`)).toBe(1);
    expect(s.get(`etcd_operator_member_healthy{${c},member=main-0}`)).toBe(0);
  });

  const noLeader = (ordinal: number) => member(ordinal, { healthy: false, isLeader: false, problem: 'no leader' }, '0');
  const unavailableSince = (ms: number): Condition => ({ type: 'Available', status: 'False', reason: 'NoLeader', message: '', lastTransitionTime: new Date(now - ms).toISOString() });
  it.each<[string, EtcdView | undefined, boolean, Condition | undefined, number]>([
    ['a healthy cluster', view('1000', member(0), member(1), member(2)), true, undefined, 0],
    ['one of three down: at risk, not lost', view('1000', member(0), member(1), down(2)), true, undefined, 0],
    ['two of three down', view(undefined, member(0, { healthy: false, isLeader: false, problem: 'no leader' }), down(1), down(2)), true, undefined, 1],
    ['no member answering', undefined, true, undefined, 1],
    ['a cluster still bootstrapping has nothing to lose', undefined, false, undefined, 0],
    ['three answer, none leads: an election, not a loss', view(undefined, noLeader(0), noLeader(1), noLeader(2)), true, undefined, 0],
    ['two of three answer without a leader, for 29 s', view(undefined, noLeader(0), noLeader(1), down(2)), true, unavailableSince(29_000), 0],
    ['the same for 31 s: members that cannot elect have lost the quorum', view(undefined, noLeader(0), noLeader(1), down(2)), true, unavailableSince(31_000), 1],
  ])('quorum lost: %s -> %i', async (_name, etcd, formed, available, expected) => {
    const cluster = sampleCluster({ replicas: 3 });
    cluster.status = { clusterID: formed ? 'a1' : '', conditions: available ? [available] : [] };
    metrics.record(snapshotOf(cluster, ref, etcd, () => undefined, new Date(now)));
    expect((await samples(registry)).get(`etcd_operator_cluster_quorum_lost{${c}}`)).toBe(expected);
  });

  it('drops the series of a removed member, and every series of a deleted cluster', async () => {
    const other = { name: 'other', namespace: 'db' };
    metrics.record(snapshot(view('1000', member(0), member(1), member(2))));
    metrics.record({ ...snapshot(view('1000', member(0))), ref: other });
    metrics.reconciled(ref, new Date(now));
    metrics.record(snapshot(view('1000', member(0), member(1)), { certificates: { server: new Date(now + 1000_000) } }));
    let s = await samples(registry);
    expect([...s.keys()].filter((k) => k.includes('member=main-2'))).toEqual([]);
    expect(s.get(`etcd_operator_certificate_expiry_seconds{${c},certificate=server}`)).toBe(1000);
    metrics.forget(ref);
    s = await samples(registry);
    expect([...s.keys()].filter((k) => k.includes('cluster=main'))).toEqual([]);
    expect([...s.keys()].filter((k) => k.includes('cluster=other')).length).toBeGreaterThan(5);
  });
});

describe('quotaBytesOf', () => {
  it('follows etcd: unset or 0 is 2 GiB, negative is no quota', () => {
    expect(quotaBytesOf(sampleCluster())).toBe(2 * 1024 ** 3);
    expect(quotaBytesOf(sampleCluster({ options: { 'quota-backend-bytes': '0' } }))).toBe(2 * 1024 ** 3);
    expect(quotaBytesOf(sampleCluster({ options: { 'quota-backend-bytes': '8589934592' } }))).toBe(8589934592);
    expect(quotaBytesOf(sampleCluster({ options: { 'quota-backend-bytes': '-1' } }))).toBeUndefined();
  });
});

describe('certificateExpiries', () => {
  it('reads every leaf and the CA that signed the server certificate, from a bundle of two CAs', async () => {
    const day = 86_400_000;
    const spec = (cn: string, days: number, isCA = false) => ({ commonName: cn, isCA, notBefore: new Date(now - day), notAfter: new Date(now + days * day), serialHex: '01' });
    const [oldCa, newCa] = await Promise.all([issue(spec('old', 10, true)), issue(spec('new', 3650, true))]);
    const server = await issue(spec('server', 365), newCa);
    const client = await issue(spec('client', 30), newCa);
    const owner = { apiVersion: 'v1', kind: 'EtcdCluster', name: 'main', uid: 'u' };
    const bundle = `${oldCa.certPem}${newCa.certPem}`;
    const secrets: Record<string, V1Secret> = {
      [names.serverSecret(ref)]: buildTlsSecret(ref, names.serverSecret(ref), server, bundle, owner),
      [names.userClientSecret(ref)]: buildTlsSecret(ref, names.userClientSecret(ref), client, bundle, owner),
    };
    const out = certificateExpiries((n) => secrets[n], ref);
    const days = (d: Date | undefined) => Math.round(((d?.getTime() ?? 0) - now) / day);
    expect(Object.keys(out).sort()).toEqual(['ca', 'server', 'user-client']);
    expect(days(out.server)).toBe(365);
    expect(days(out['user-client'])).toBe(30);
    expect(days(out.ca)).toBe(3650);
  });
});
