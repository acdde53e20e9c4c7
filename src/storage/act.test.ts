import { describe, expect, it } from 'vitest';
import { computeStatus } from '../controller/status.js';
import { sampleCluster } from '../resources/fixtures.js';
import { buildStatefulSet } from '../resources/statefulset.js';
import { describeStorage } from './act.js';
import { claimSizeOf, withLiveClaimTemplates } from './observe.js';

const ref = { name: 'main', namespace: 'db' };
const now = new Date('2026-11-23T12:00:00Z');

describe('storage in the status', () => {
  const status = (storage: ReturnType<typeof describeStorage>, step: Parameters<typeof computeStatus>[0]['step'] = { kind: 'none' }) =>
    computeStatus({ cluster: sampleCluster(), ref, etcd: undefined, step, problems: [], storage, caSecretName: 'main-ca', clusterDomain: 'cluster.local', now });
  const progressing = (s: ReturnType<typeof computeStatus>) => s.conditions!.find((c) => c.type === 'Progressing')!;

  it('is Progressing with ExpandingVolumes while a claim grows', () => {
    const s = status(describeStorage({ kind: 'expandClaim', ordinal: 1, claim: 'data-main-1', from: '1Gi', to: '2Gi' }, ref));
    expect(progressing(s)).toMatchObject({ status: 'True', reason: 'ExpandingVolumes', message: 'expanding PVC data-main-1 from 1Gi to 2Gi' });
  });

  it('lets a membership step speak first', () => {
    const s = status(describeStorage({ kind: 'wait', reason: 'statefulSetDeleting' }, ref), { kind: 'addLearner', ordinal: 3 });
    expect(progressing(s).reason).toBe('AddingLearner');
  });

  it('names the class and the claims in a refusal', () => {
    const d = describeStorage({ kind: 'refuse', className: 'slow', state: 'fixed', claims: ['data-main-0'], size: '2Gi' }, ref)!;
    expect(d.reason).toBe('StorageClassCannotExpand');
    expect(d.message).toContain('PVC data-main-0 cannot grow: StorageClass slow does not allow volume expansion');
  });
});

describe('withLiveClaimTemplates', () => {
  it('keeps the live claim size, which the API server forbids changing, and nothing else of the live object', () => {
    const live = buildStatefulSet(sampleCluster({ storage: { type: 'PersistentVolumeClaim', size: '1Gi', retentionPolicy: 'Retain' } }), 3, 'a');
    const desired = buildStatefulSet(sampleCluster({ storage: { type: 'PersistentVolumeClaim', size: '2Gi', retentionPolicy: 'Retain' } }), 5, 'b');
    const applied = withLiveClaimTemplates(desired, live);
    expect(claimSizeOf(applied)).toBe('1Gi');
    expect(applied.spec!.replicas).toBe(5);
    expect(claimSizeOf(desired)).toBe('2Gi');
    expect(withLiveClaimTemplates(desired, undefined)).toBe(desired);
  });
});
