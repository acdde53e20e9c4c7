import { describe, expect, it } from 'vitest';
import type { EtcdCluster } from '../api/types.generated.js';
import type { EtcdView, MemberView } from '../controller/observe-etcd.js';
import type { EndpointStatus } from '../etcd/types.js';
import { memberSelector } from '../resources/names.js';
import { buildForcePod } from './force-pod.js';
import { nextLastRevision, quorumRecoveryReport, referenceRevision, survivorsOf } from './report.js';

const status = (revision: bigint, applied: bigint): EndpointStatus => ({ endpoint: '', clusterId: '9', memberId: '1', leaderId: '0', raftIndex: applied, raftAppliedIndex: applied, raftTerm: 2n, revision, dbSize: 1, dbSizeInUse: 1, version: '3.6.16', isLearner: false, errors: [] });
const member = (ordinal: number, s: EndpointStatus | undefined, over: Partial<MemberView> = {}): MemberView => ({
  id: String(1000 + ordinal), name: `c-${ordinal}`, ordinal, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: s, healthy: false, isLeader: false, problem: 'no quorum', ...over,
});
const view = (members: MemberView[]): EtcdView => ({ clusterId: '9', members, leaderId: undefined, quorumConfirmed: false });

describe('the recovery report', () => {
  it('survivors are the voters that answer, most advanced first; learners and silent members are not', () => {
    const v = view([member(0, status(70n, 100n)), member(1, undefined), member(2, status(80n, 120n)), member(3, status(90n, 130n), { isLearner: true })]);
    expect(survivorsOf(v).map((s) => s.name)).toEqual(['c-2', 'c-0']);
  });

  it('options are counted against the highest known revision, least loss first, the backup among them', () => {
    const survivors = survivorsOf(view([member(0, status(70n, 100n)), member(2, status(80n, 120n))]));
    const reference = referenceRevision({ revision: 95, observedAt: '2026-01-01T00:00:00Z' }, survivors);
    expect(reference).toBe(95n);
    const r = quorumRecoveryReport(survivors, reference, { name: 'nightly', completionTime: '2026-01-01T00:00:00Z', revision: 60 });
    expect(r.options).toEqual([
      { source: 'Survivor', name: 'c-2', revision: 80, lostRevisions: 15 },
      { source: 'Survivor', name: 'c-0', revision: 70, lostRevisions: 25 },
      { source: 'Backup', name: 'nightly', revision: 60, lostRevisions: 35 },
    ]);
    expect(r.survivors![0]).toEqual({ name: 'c-2', memberID: (1002).toString(16), appliedIndex: 120, revision: 80 });
  });

  it('a survivor ahead of the latch raises the reference: nothing is counted below zero', () => {
    const survivors = survivorsOf(view([member(0, status(120n, 100n))]));
    expect(referenceRevision({ revision: 95, observedAt: '2026-01-01T00:00:00Z' }, survivors)).toBe(120n);
  });

  it('the revision latch moves only while healthy, and at most every 30 s', () => {
    const healthy = view([member(0, status(500n, 600n), { healthy: true, problem: undefined })]);
    const t0 = new Date('2026-01-01T00:00:00Z');
    const first = nextLastRevision(undefined, healthy, true, t0);
    expect(first).toEqual({ revision: 500, observedAt: t0.toISOString() });
    const later = view([member(0, status(900n, 1000n), { healthy: true, problem: undefined })]);
    expect(nextLastRevision(first, later, true, new Date(t0.getTime() + 10_000))).toBe(first);
    expect(nextLastRevision(first, later, true, new Date(t0.getTime() + 30_000))?.revision).toBe(900);
    expect(nextLastRevision(first, later, false, new Date(t0.getTime() + 60_000))).toBe(first);
  });
});

describe('the --force-new-cluster pod', () => {
  const cluster = { apiVersion: 'etcd.operator.dev/v1alpha1', kind: 'EtcdCluster', metadata: { name: 'c', namespace: 'ns', uid: 'u' }, spec: { replicas: 3, version: '3.6.16', storage: { type: 'PersistentVolumeClaim', size: '1Gi' } } } as unknown as EtcdCluster;
  const pod = buildForcePod(cluster, { name: 'c', namespace: 'ns' }, 2, 'cluster.local', 'hash');

  it('runs once, on the survivor\'s volume, as the survivor, with the flag', () => {
    expect(pod.spec!.restartPolicy).toBe('Never');
    expect(pod.spec!.containers[0]!.args).toContain('--force-new-cluster');
    expect(pod.spec!.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-c-2' } });
    expect(pod.spec!.containers[0]!.env).toContainEqual({ name: 'POD_NAME', value: 'c-2' });
    expect(pod.spec!.hostname).toBe('c-2');
    expect(pod.spec!.containers[0]!.livenessProbe).toBeUndefined();
  });

  it('is never a StatefulSet pod: another name pattern, labels its selector does not match', () => {
    expect(pod.metadata!.name).not.toMatch(/^c-\d+$/);
    const selector = memberSelector({ name: 'c', namespace: 'ns' });
    expect(Object.entries(selector).every(([k, v]) => pod.metadata!.labels?.[k] === v)).toBe(false);
  });
});
