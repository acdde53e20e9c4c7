import { describe, expect, it } from 'vitest';
import { NativeGarbage, collectDue, collectEveryCloses, collectMinIntervalMs } from './native-garbage.js';

describe('collectDue', () => {
  it.each([
    { closes: collectEveryCloses - 1, sinceLastMs: Infinity, due: false, why: 'too few closes' },
    { closes: collectEveryCloses, sinceLastMs: Infinity, due: true, why: 'enough closes, never collected' },
    { closes: collectEveryCloses, sinceLastMs: collectMinIntervalMs - 1, due: false, why: 'the last collection too recent (a take-over burst)' },
    { closes: 5 * collectEveryCloses, sinceLastMs: collectMinIntervalMs, due: true, why: 'closes kept counting while waiting' },
  ])('$why', ({ closes, sinceLastMs, due }) => expect(collectDue(closes, sinceLastMs)).toBe(due));
});

describe('NativeGarbage', () => {
  it('asks for a full collection off the current task after enough closes, at most once an interval', () => {
    const asked: unknown[] = [];
    let now = 0;
    const garbage = new NativeGarbage((options) => asked.push(options), () => now);
    for (let i = 0; i < 3 * collectEveryCloses; i++) garbage.closed();
    expect(asked).toEqual([{ type: 'major', execution: 'async' }]);
    now += collectMinIntervalMs;
    garbage.closed();
    expect(asked).toHaveLength(2);
  });

  it('does nothing without --expose-gc', () => {
    const garbage = new NativeGarbage(undefined);
    for (let i = 0; i < 2 * collectEveryCloses; i++) garbage.closed();
  });
});
