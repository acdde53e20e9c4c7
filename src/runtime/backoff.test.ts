import { describe, expect, it } from 'vitest';
import { exponentialDelay, KeyedBackoff, RestartBackoff } from './backoff.js';

describe('backoff', () => {
  it('doubles from the base and stops at the cap, even after very many failures', () => {
    expect([0, 1, 2, 3, 4].map((n) => exponentialDelay(n, 5, 50))).toEqual([5, 10, 20, 40, 50]);
    expect(exponentialDelay(5000, 5, 1_000_000)).toBe(1_000_000);
  });

  it('keeps failures per key', () => {
    const b = new KeyedBackoff({ baseMs: 5, capMs: 1000 });
    expect([b.when('a'), b.when('a'), b.when('b'), b.when('a')]).toEqual([5, 10, 5, 20]);
    b.forget('a');
    expect(b.when('a')).toBe(5);
    expect(b.retries('b')).toBe(1);
  });

  it('restart backoff grows on quick failures and starts over after a long healthy run', () => {
    const b = new RestartBackoff({ baseMs: 500, capMs: 4000, resetAfterMs: 60_000 });
    expect([b.next(0, 10), b.next(0, 10), b.next(0, 10), b.next(0, 10), b.next(0, 10)]).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(b.next(0, 60_000)).toBe(500);
    expect(b.next(0, 10)).toBe(1000);
    b.reset();
    expect(b.next(0, 10)).toBe(500);
  });
});
