import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { observeKube } from '../../../src/controller/observe-kube.js';
import { sampleCluster } from '../../../src/resources/fixtures.js';
import { FakeCache } from './fakes.js';
import { ref } from './world.js';

const claim = (ordinal: number, uid: string, leaving = false): V1PersistentVolumeClaim => ({
  apiVersion: 'v1', kind: 'PersistentVolumeClaim',
  metadata: { name: `data-main-${ordinal}`, namespace: 'db', uid, ...(leaving ? { deletionTimestamp: new Date('2026-01-01T00:00:00Z') } : {}) },
});

describe('observeKube volumes', () => {
  // A member seen healthy while its claim is being deleted still runs on it (its pod keeps the
  // claim until it stops): it must be recorded there, or the loss that follows cannot be proven.
  it('a claim being deleted is no volume to start on, but one a member may still run on', () => {
    const claims = [claim(0, 'uid-0'), claim(1, 'uid-1', true)];
    const kube = observeKube(new FakeCache(), sampleCluster(), ref, () => claims);
    expect([...kube.volumes]).toEqual([[0, 'uid-0']]);
    expect(kube.leavingClaims).toEqual([1]);
    expect([...kube.runningVolumes!]).toEqual([[0, 'uid-0'], [1, 'uid-1']]);
  });
});
