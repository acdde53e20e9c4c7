import { describe, expect, it } from 'vitest';
import type { VoterHealth } from '../etcd/quorum.js';
import { sampleCluster } from './fixtures.js';
import { buildPodDisruptionBudget } from './pdb.js';

const v = (voters: number, healthy = voters): VoterHealth => ({ voters, healthy });

describe('buildPodDisruptionBudget', () => {
  it.each<[string, number, VoterHealth | undefined, number]>([
    ['3 healthy voters tolerate 1', 3, v(3), 1],
    ['5 healthy voters tolerate 2', 5, v(5), 2],
    ['7 healthy voters tolerate 3', 7, v(7), 3],
    ['scale-up 3 -> 7 with 3 voters: 1, not 3', 7, v(3), 1],
    ['scale-up 3 -> 7 with 4 voters: 1', 7, v(4), 1],
    ['scale-up 3 -> 7 with 5 voters: 2', 7, v(5), 2],
    ['scale-up 3 -> 5 with 3 voters: 1, not 2', 5, v(3), 1],
    ['scale-down 7 -> 3 with 7 voters still: 3 (they exist)', 3, v(7), 3],
    ['scale-down 7 -> 3 with 6 voters: 2', 3, v(6), 2],
    ['scale-down 5 -> 3 with 4 voters: 1', 3, v(4), 1],
    ['scale-down 3 -> 1 with 2 voters: 0', 1, v(2), 0],
    ['one of 3 voters down: no further disruption', 3, v(3, 2), 0],
    ['two of 5 voters down: no further disruption', 5, v(5, 3), 0],
    ['quorum lost: never negative', 3, v(3, 1), 0],
    ['a single-member cluster may be drained', 1, v(1), 1],
    ['a single-member cluster that is down may be drained', 1, v(1, 0), 1],
    ['growing from one member: its only voter is protected', 3, v(1), 0],
    ['etcd unreachable: the safe value', 3, undefined, 0],
    ['etcd unreachable, single member: still the safe value', 1, undefined, 0],
  ])('%s', (_name, replicas, voters, expected) => {
    expect(buildPodDisruptionBudget(sampleCluster({ replicas }), voters).spec!.maxUnavailable).toBe(expected);
  });

  it('selects the member pods and is owned by the cluster', () => {
    const pdb = buildPodDisruptionBudget(sampleCluster(), v(3));
    expect(pdb.spec!.selector!.matchLabels).toEqual({ 'app.kubernetes.io/name': 'etcd', 'app.kubernetes.io/instance': 'main', 'app.kubernetes.io/component': 'member' });
    expect(pdb.metadata!.ownerReferences![0]!.kind).toBe('EtcdCluster');
  });

  it('does not mutate its input', () => {
    const cluster = sampleCluster();
    const before = JSON.stringify(cluster);
    buildPodDisruptionBudget(cluster, v(3));
    expect(JSON.stringify(cluster)).toBe(before);
  });
});
