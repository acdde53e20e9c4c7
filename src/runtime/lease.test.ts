import { describe, expect, it } from 'vitest';
import { claimedSpec, mayAcquire, microTime, releasedSpec } from './lease.js';

const t = new Date('2025-01-02T03:04:05.678Z');

describe('lease records', () => {
  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(t)).toBe('2025-01-02T03:04:05.678000Z');
  });

  it('may take a free, released or own lease at once, and another holder only after a full duration of silence', () => {
    expect(mayAcquire(undefined, 'me', 0, 0, 15_000)).toBe(true);
    expect(mayAcquire({ holderIdentity: null }, 'me', 0, 0, 15_000)).toBe(true);
    expect(mayAcquire({ holderIdentity: 'me' }, 'me', 0, 0, 15_000)).toBe(true);
    expect(mayAcquire({ holderIdentity: 'other' }, 'me', 1000, 15_999, 15_000)).toBe(false);
    expect(mayAcquire({ holderIdentity: 'other' }, 'me', 1000, 16_000, 15_000)).toBe(true);
  });

  it('counts a transition only when the holder changes, and keeps acquireTime while renewing', () => {
    const first = claimedSpec(undefined, 'a', 15_000, t);
    expect(first).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const later = new Date(t.getTime() + 2000);
    const renewed = claimedSpec(first, 'a', 15_000, later);
    expect(renewed.acquireTime).toBe(first.acquireTime);
    expect(renewed.renewTime).toBe(microTime(later));
    expect(claimedSpec(renewed, 'b', 15_000, later).leaseTransitions).toBe(1);
    const released = releasedSpec(renewed, later);
    expect(released.holderIdentity).toBeNull();
    expect(claimedSpec(released, 'b', 15_000, later).leaseTransitions).toBe(1);
  });
});
