import { describe, expect, it } from 'vitest';
import { buildMembershipConfig } from '../resources/membership-config.js';
import { sampleCluster } from '../resources/fixtures.js';
import { announcedOrdinals, membershipUnchanged } from './steps.js';

describe('membership announcements', () => {
  const cluster = sampleCluster();
  const learner = { memberId: '18446744073709551615', ordinal: 3, addedAt: '2025-01-01T00:00:00.000Z' };
  const cm = (ordinals: number[], withLearner = false) => buildMembershipConfig(cluster, { state: 'existing', ordinals, memberVolumes: { u1: '1' }, ...(withLearner ? { learner } : {}) });

  it('announces the member an add is about to join, and only then', () => {
    expect(announcedOrdinals([0, 1, 2], { kind: 'addLearner', ordinal: 3 })).toEqual([0, 1, 2, 3]);
    expect(announcedOrdinals([0, 1, 2, 3], { kind: 'addLearner', ordinal: 3 })).toEqual([0, 1, 2, 3]);
    expect(announcedOrdinals([0, 1, 2], { kind: 'wait', reason: 'unhealthyNoScaleUp' })).toEqual([0, 1, 2]);
  });

  it('sees a write that changes nothing, and a record dropped as a change', () => {
    expect(membershipUnchanged(cm([0, 1, 2]), undefined)).toBe(false);
    expect(membershipUnchanged(cm([0, 1, 2]), cm([2, 1, 0]))).toBe(true);
    expect(membershipUnchanged(cm([0, 1, 2, 3]), cm([0, 1, 2]))).toBe(false);
    // A learner record no longer kept must go: the live object holding more is not "unchanged".
    expect(membershipUnchanged(cm([0, 1, 2, 3]), cm([0, 1, 2, 3], true))).toBe(false);
    expect(membershipUnchanged(cm([0, 1, 2, 3], true), cm([0, 1, 2, 3], true))).toBe(true);
  });
});
