import { describe, expect, it } from 'vitest';
import type { EndpointStatus } from '../etcd/types.js';
import { sampleCluster } from '../resources/fixtures.js';
import { type Decision, DecisionWarnings, describeDecision } from './decisions.js';
import type { EtcdView, MemberView } from './observe-etcd.js';
import { computeStatus } from './status.js';

const ref = { name: 'main', namespace: 'db' };
const retained: Decision = { reason: 'retainedVolume', ordinal: 3, memberId: '4096', predatesCluster: false };
const predating: Decision = { reason: 'volumesPredateCluster', ordinals: [0, 1] };
const mismatch: Decision = { reason: 'clusterIdMismatch', expected: 'c1', answers: [{ by: 'member list', clusterId: 'c2' }, { by: 'main-0', clusterId: 'c2' }, { by: 'main-1', clusterId: 'c1' }] };

describe('describeDecision', () => {
  it('names the retained PVC, the member whose data it holds, and both ways forward', () => {
    const d = describeDecision(retained, ref);
    expect(d.reason).toBe('RetainedVolume');
    expect(d.message).toContain('PVC data-main-3 holds the data of removed member 1000 (main-3)');
    expect(d.message).toContain('kubectl delete pvc data-main-3 -n db');
    expect(d.message).toContain('kubectl annotate pvc data-main-3 -n db etcd.operator.dev/reclaim=true');
  });

  it('says when a retained PVC is an earlier cluster\'s', () => {
    expect(describeDecision({ ...retained, memberId: undefined, predatesCluster: true }, ref).message).toContain('holds data of an earlier EtcdCluster named main');
  });

  it('names the old PVCs at bootstrap, and how to delete or adopt them', () => {
    const d = describeDecision(predating, ref);
    expect(d.reason).toBe('VolumesPredateCluster');
    expect(d.message).toContain('PVCs data-main-0, data-main-1 are older than this EtcdCluster');
    expect(d.message).toContain('kubectl delete pvc data-main-0 data-main-1 -n db');
    expect(d.message).toContain('etcd.operator.dev/adopt-cluster-id=');
  });

  it('names the IDs that answered, who answered, and the expected one', () => {
    const d = describeDecision(mismatch, ref);
    expect(d.reason).toBe('ClusterIDMismatch');
    expect(d.message).toContain('cluster ID c2 (member list, main-0), c1 (main-1), but this EtcdCluster\'s cluster ID is c1');
  });
});

describe('DecisionWarnings', () => {
  it('warns once per decision awaited, again for another one, and again after it was resolved', () => {
    const w = new DecisionWarnings();
    const sent: string[] = [];
    const pass = (d: Decision | undefined) => {
      if (w.due('db/main', d) && d) {
        sent.push(d.reason);
        w.markSent('db/main', d);
      }
    };
    pass(retained);
    pass(retained);
    pass({ ...retained });
    pass({ ...retained, ordinal: 4 });
    pass(undefined);
    pass({ ...retained, ordinal: 4 });
    expect(sent).toEqual(['retainedVolume', 'retainedVolume', 'retainedVolume']);
  });

  it('does not count a warning that was not sent', () => {
    const w = new DecisionWarnings();
    expect(w.due('db/main', mismatch)).toBe(true);
    expect(w.due('db/main', { ...mismatch, answers: [...mismatch.answers].reverse() })).toBe(true);
    w.markSent('db/main', mismatch);
    expect(w.due('db/main', { ...mismatch, answers: [...mismatch.answers].reverse() })).toBe(false);
  });

  it('a mismatch is the same news while more pods answer with the same IDs, new news with another ID', () => {
    const w = new DecisionWarnings();
    w.markSent('db/main', mismatch);
    expect(w.due('db/main', { ...mismatch, answers: [...mismatch.answers, { by: 'main-2', clusterId: 'c2' }] })).toBe(false);
    expect(w.due('db/main', { ...mismatch, answers: [...mismatch.answers, { by: 'main-2', clusterId: 'c3' }] })).toBe(true);
    expect(w.due('db/main', { ...mismatch, expected: 'c9' })).toBe(true);
  });
});

describe('status while a decision is awaited', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  const status = (id: string): EndpointStatus => ({ endpoint: '', clusterId: '2', memberId: id, leaderId: '1000', raftIndex: 1n, raftAppliedIndex: 1n, raftTerm: 1n, dbSize: 1, dbSizeInUse: 1, version: '3.6.16', isLearner: false, errors: [] });
  const member = (o: number): MemberView => ({ id: String(1000 + o), name: `main-${o}`, ordinal: o, peerURLs: [], clientURLs: [], isLearner: false, started: true, status: status(String(1000 + o)), healthy: true, isLeader: o === 0, problem: undefined });
  const etcd: EtcdView = { clusterId: '2', members: [member(0), member(1), member(2)], leaderId: '1000', quorumConfirmed: true };
  const cond = (s: ReturnType<typeof computeStatus>, type: string) => s.conditions!.find((c) => c.type === type)!;
  const compute = (decision: Decision, latched?: string) => {
    const cluster = sampleCluster({ replicas: 5 });
    if (latched) cluster.status = { clusterID: latched };
    return computeStatus({ cluster, ref, etcd, step: { kind: 'awaitDecision', decision }, problems: [], caSecretName: 'main-ca', clusterDomain: 'cluster.local', now });
  };

  it('a retained volume: still Available, Progressing and Degraded say why and what to do', () => {
    const s = compute(retained, '2');
    expect(cond(s, 'Available')).toMatchObject({ status: 'True', reason: 'QuorumHealthy' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'RetainedVolume' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'RetainedVolume' });
    expect(cond(s, 'Degraded').message).toContain('data-main-3');
  });

  it('a cluster ID mismatch: not Available whatever the quorum, and the latched ID stays', () => {
    const s = compute({ ...mismatch, expected: 'c1' }, 'c1');
    expect(cond(s, 'Available')).toMatchObject({ status: 'False', reason: 'ClusterIDMismatch' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'True', reason: 'ClusterIDMismatch' });
    expect(s.clusterID).toBe('c1');
  });

  it('a mismatch with nothing latched latches nothing', () => {
    expect(compute({ ...mismatch, expected: 'ab' }).clusterID).toBeUndefined();
  });

  it('without a mismatch the first answer latches the ID', () => {
    expect(compute(retained).clusterID).toBe('2');
  });
});
