import { describe, expect, it } from 'vitest';
import { keepClientOpen } from './client-lifetime.js';

describe('keepClientOpen', () => {
  it.each([
    ['a learner being watched (250 ms)', 250, true],
    ['a step etcd refused for now (500 ms)', 500, true],
    ['a wait, such as a pod starting (2 s)', 2_000, true],
    ['a renewal or an upkeep step due in 9 s', 9_999, true],
    ['the health refresh of a quiet cluster (30 s)', 30_000, false],
    ['exactly the idle threshold', 10_000, false],
    ['nothing asked (next event only)', undefined, false],
    ['no requeue at all', Infinity, false],
  ])('%s -> %s', (_case, requeueAfterMs, keep) => {
    expect(keepClientOpen({ requeueAfterMs })).toBe(keep);
  });
});
